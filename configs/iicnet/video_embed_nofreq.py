# IICNet video embedding, official config st-03 (ablation): the st-01 setting
# (video_embed.py) without the frequency loss on the embedding; 6,805,540
# parameters (the st-01 network).
_base_ = './video_embed.py'

model = dict(losses=dict(freq_loss=None))
