# Invertible-ISP on the MIT-Adobe FiveK Canon EOS 5D images (the official
# train.sh / test.sh for that camera); data: see
# configs/invisp/README.md.
_base_ = ['./_fivek_data.py']

camera = 'canon'
data_root = 'data/fivek/canon'
train_dataloader = dict(dataset=dict(data_root=data_root, camera=camera))
val_dataloader = dict(dataset=dict(data_root=data_root, camera=camera))
test_dataloader = val_dataloader
