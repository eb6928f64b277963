# Invertible-ISP on the MIT-Adobe FiveK Canon images (the official
# train.sh / test.sh with --camera=canon); data: see configs/invisp/README.md.
_base_ = ['./_invisp_base.py', './_fivek_canon_data.py']
