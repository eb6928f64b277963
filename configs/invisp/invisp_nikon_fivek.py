# Invertible-ISP on the MIT-Adobe FiveK Nikon D700 images (the official
# train.sh / test.sh for that camera); data: see
# configs/invisp/README.md.
_base_ = ['./_fivek_data.py']
