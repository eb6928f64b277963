# IICNet invertible grayscale (supplement), official config supp-gray-01: an
# RGB image (VOC2012) into a 1-channel image that looks like its grey
# version; relation module (1 image), 16 couplings (split 1/2); 3,455,158
# parameters. 144x144 crops, batch 2.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_grayscale.py']

model = dict(
    task=dict(type='GrayscaleEmbedding'), generator=dict(block_num=16))
