# InvCompress quality 7, MS-SSIM objective (lambda 115.37, CompressAI's
# table; N = 192), trained on Flickr 2W: see _invcompress_base.py and
# README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=7, metric='ms-ssim', generator=dict(N=192))
