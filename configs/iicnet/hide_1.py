# IICNet image hiding, official config hide-01: a cover and 1 secret image
# (Flickr 2W) into one image that looks like the cover; relation module,
# 10 couplings; 3,276,004 parameters. Random 144x144 patches, batch 2.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_hiding.py']

num_secrets = 1
group_size = num_secrets + 1
model = dict(task=dict(type='ImageHiding', num_secrets=num_secrets))
