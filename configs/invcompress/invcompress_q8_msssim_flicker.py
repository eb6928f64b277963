# InvCompress quality 8, MS-SSIM objective (lambda 220.0, CompressAI's
# table; N = 192), trained on Flickr 2W: see _invcompress_base.py and
# README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=8, metric='ms-ssim', generator=dict(N=192))
