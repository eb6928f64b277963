# The DIV2K training set at x2 under its first name: the same as
# div2k_train_x2.py, kept for configs that inherit this file. New configs
# name the scale: div2k_train_x2.py, _x3.py, _x4.py or _x8.py.
_base_ = ['./div2k_train_x2.py']
