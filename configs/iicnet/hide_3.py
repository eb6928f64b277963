# IICNet image hiding, official config hide-03: a cover and 3 secret images
# (Flickr 2W) into one image that looks like the cover; relation module,
# 10 couplings; 5,481,572 parameters. Random 144x144 patches, batch 2.
# Everything but the number of secrets is in _hide_base.py.
_base_ = ['./_hide_base.py']

num_secrets = 3
group_size = num_secrets + 1  # the cover and the secrets
model = dict(task=dict(num_secrets=num_secrets))
train_dataloader = dict(dataset=dict(group_size=group_size))
val_dataloader = [
    dict(loader, dataset=dict(loader.dataset, group_size=group_size))
    for loader in _base_.val_dataloader
]
test_dataloader = [
    dict(loader, dataset=dict(loader.dataset, group_size=group_size))
    for loader in _base_.test_dataloader
]
