# InvCompress quality 1, MSE objective (lambda 0.0018, CompressAI's table;
# N = 128), trained on Flickr 2W: see _invcompress_base.py and README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=1, metric='mse', generator=dict(N=128))
