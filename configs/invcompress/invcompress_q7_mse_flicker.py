# InvCompress quality 7, MSE objective (lambda 0.0932, CompressAI's table;
# N = 192), trained on Flickr 2W: see _invcompress_base.py and README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=7, metric='mse', generator=dict(N=192))
