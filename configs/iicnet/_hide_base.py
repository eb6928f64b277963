# Shared by the IICNet image-hiding configs hide_<K>.py (official hide-0K):
# the IICNet runtime and network (_iicnet_runtime.py: relation module, 10
# couplings), the Flickr 2W groups [cover, secret1, ...] of
# ../_base_/datasets/iicnet_hiding.py (random 144x144 patches, batch 2;
# 576x576 centre crops for evaluation) and the ImageHiding task.
# Not a training config on its own. Each hide_<K>.py sets the number of
# secrets K and hands the group size K + 1 to the task and to the three
# dataloaders (mmengine evaluates this file before the child and replaces
# lists whole, so the child maps its group size onto the one-loader val and
# test lists itself; see hide_1.py).
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_hiding.py']

model = dict(task=dict(type='ImageHiding'))
