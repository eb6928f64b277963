# InvCompress quality 1, MS-SSIM objective (lambda 2.4, CompressAI's
# table; N = 128), trained on Flickr 2W: see _invcompress_base.py and
# README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=1, metric='ms-ssim', generator=dict(N=128))
