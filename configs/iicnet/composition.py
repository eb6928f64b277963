# IICNet composition / decomposition, official config adobe-01: Adobe
# [composite, background, foreground] into one image that looks like the
# composite; relation module, 10 couplings; 4,305,060 parameters. Whole
# images resized to 256x256, batch 1.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_composition.py']

model = dict(task=dict(type='CompositionDecomposition', num_images=3))
