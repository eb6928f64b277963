# InvCompress quality 2, MS-SSIM objective (lambda 4.58, CompressAI's
# table; N = 128), trained on Flickr 2W: see _invcompress_base.py and
# README.md.
_base_ = ['./_invcompress_base.py']

model = dict(quality=2, metric='ms-ssim', generator=dict(N=128))
