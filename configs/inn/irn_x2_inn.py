# The invertible part of IRN x2 (Xiao et al., ECCV 2020), built from the INN
# library alone: one Haar level (RGB -> 12 channels at half resolution, the
# first 3 channels are the LR image) and 8 IRN affine couplings with dense
# block subnets (split 3 = LR branch, clamp 1). This is the same function as
# the official InvRescaleNet x2 (see tests/models/inn/test_official_vectors.py).
# Used by tools/analysis_tools/invertibility_report.py and `make quickstart`.
inn = dict(
    type='InvertibleSequential',
    in_shape=(3, 144, 144),
    memory_efficient=False,
    blocks=[dict(type='HaarDownsampling')] + [
        dict(
            type='AffineCoupling',
            split=3,
            clamp=1.0,
            clamp_activation='sigmoid',
            subnet=dict(type='DenseBlock', growth=32, init='xavier'))
    ] * 8)
