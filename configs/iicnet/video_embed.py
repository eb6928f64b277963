# IICNet video embedding, official config st-01: 5 DAVIS-2017 frames (the
# middle one is the reference) embedded into one frame-size image; relation
# module, 10 couplings, no downscaling; 6,805,540 parameters.
# 144x144 crops, batch 2, no flips.
_base_ = ['./_iicnet_runtime.py', '../_base_/datasets/iicnet_video.py']

model = dict(task=dict(type='VideoEmbedding', num_frames=5))
