# IICNet dual-view embedding x2, official config dual-01: [the LR full view
# (DIV2K bicubic x2), the HR centre crop of the same size] into one image
# that looks like the LR view; relation module, 10 couplings; 3,276,004
# parameters. 144x144 crops, batch 2.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_dual_view.py']

model = dict(task=dict(type='DualViewEmbedding', view_scale=2))
