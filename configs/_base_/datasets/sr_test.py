# The SR test sets at x2 under their first name: the same as sr_test_x2.py,
# kept for configs that inherit this file. New configs name the scale:
# sr_test_x2.py, sr_test_x3.py, sr_test_x4.py or sr_test_x8.py.
_base_ = ['./sr_test_x2.py']
