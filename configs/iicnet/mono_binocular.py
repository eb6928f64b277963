# IICNet binocular mononizing, official config mono-01: a Flickr1024 stereo
# pair [left, right] into one image that looks like the left view; relation
# module, 16 couplings; 4,399,564 parameters. 144x144 crops, batch 2.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_stereo.py']

model = dict(
    task=dict(type='BinocularMononizing'), generator=dict(block_num=16))
