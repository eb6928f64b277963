# Invertible-ISP on the MIT-Adobe FiveK Nikon images (the official
# train.sh / test.sh with --camera=nikon); data: see configs/invisp/README.md.
_base_ = ['./_invisp_base.py', './_fivek_nikon_data.py']
