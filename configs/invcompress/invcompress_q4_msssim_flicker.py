# InvCompress quality 4, MS-SSIM objective (lambda 16.64, CompressAI's
# table; N = 128), trained on Flickr 2W: see _invcompress_base.py and
# README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=4, metric='ms-ssim', generator=dict(N=128))
