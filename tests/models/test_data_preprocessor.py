# Copyright (c) invtoolbox contributors. All rights reserved.
"""DataPreprocessor: stacking, normalisation by dtype / levels / mean-std,
data-sample fields, destruct, errors."""
import numpy as np
import pytest
import torch

from invtoolbox.models.data_preprocessors import DataPreprocessor
from invtoolbox.registry import MODELS
from invtoolbox.structures import DataSample


def test_stacks_a_list_and_scales_uint8():
    images = [torch.randint(0, 256, (3, 6, 5), dtype=torch.uint8)
              for _ in range(2)]
    out = DataPreprocessor()(dict(inputs=images, data_samples=None))
    assert out['inputs'].shape == (2, 3, 6, 5)
    assert out['inputs'].dtype == torch.float32
    assert torch.equal(out['inputs'][1], images[1].float() / 255.)
    assert out['data_samples'] is None


def test_float_inputs_are_kept():
    images = [torch.rand(3, 4, 4) * 1.5 - 0.2 for _ in range(3)]  # unclipped
    out = DataPreprocessor()(dict(inputs=images))
    assert torch.equal(out['inputs'], torch.stack(images))


def test_tensor_inputs_and_single_image():
    batch = torch.rand(2, 3, 4, 4)
    assert torch.equal(DataPreprocessor()(dict(inputs=batch))['inputs'],
                       batch)
    one = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    out = DataPreprocessor()(dict(inputs=one))['inputs']
    assert out.shape == (1, 3, 4, 4)
    assert torch.equal(out[0], one.float() / 255.)


def test_sample_fields_are_converted_others_untouched():
    gt = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    lr = torch.rand(3, 2, 2)
    extra = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    sample = DataSample(gt_img=gt, lr_img=lr, pred_img=extra,
                        metainfo=dict(key='k'))
    out = DataPreprocessor()(dict(inputs=[gt], data_samples=[sample]))
    result = out['data_samples'][0]
    assert result.gt_img.dtype == torch.float32
    assert torch.equal(result.gt_img, gt.float() / 255.)
    assert torch.equal(result.lr_img, lr)
    assert result.pred_img.dtype == torch.uint8  # not in sample_fields
    assert result.key == 'k'
    only_lr = DataPreprocessor(sample_fields=('lr_img', ))
    out = only_lr(dict(inputs=[gt], data_samples=[DataSample(gt_img=gt)]))
    assert out['data_samples'][0].gt_img.dtype == torch.uint8


def test_different_sizes_raise_with_shapes():
    images = [torch.rand(3, 4, 4), torch.rand(3, 4, 5)]
    with pytest.raises(ValueError) as err:
        DataPreprocessor()(dict(inputs=images))
    assert '(3, 4, 4)' in str(err.value) and '(3, 4, 5)' in str(err.value)
    assert 'batch_size=1' in str(err.value)


def test_built_from_the_registry_inside_a_model():
    from mmengine.model import BaseModel

    class Tiny(BaseModel):

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return inputs

    # built through mmengine's root registry: the scope prefix finds ours
    model = Tiny(data_preprocessor=dict(type='invtoolbox.DataPreprocessor'))
    assert isinstance(model.data_preprocessor, DataPreprocessor)
    assert isinstance(MODELS.build(dict(type='DataPreprocessor')),
                      DataPreprocessor)
    image = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    out = model.val_step(dict(inputs=[image], data_samples=[DataSample()]))
    assert torch.equal(out[0], image.float() / 255.)


# --------------------------------------------------------------------------
# beyond 8-bit RGB: dtypes, levels, mean/std, per-field settings
# --------------------------------------------------------------------------


def _sample_16bit(**fields):
    depths = {'inputs': 16, **{k: 16 for k in fields}}
    return DataSample(**fields, metainfo=dict(bit_depths=depths))


def test_normalises_by_dtype():
    pre = DataPreprocessor()
    codes = np.array([0, 1, 257, 32768, 65535], np.int64)
    # int32 codes from PackInputs (bit depth in the metainfo): / 65535
    x = torch.from_numpy(codes.astype(np.int32)).view(1, 1, 5)
    out = pre(dict(inputs=[x], data_samples=[_sample_16bit()]))['inputs']
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(
        out.view(-1).numpy(), codes.astype(np.float32) / np.float32(65535))
    # torch.uint16 (where torch has it) needs no metainfo
    if hasattr(torch, 'uint16'):
        u16 = torch.from_numpy(codes.astype(np.uint16)).view(1, 1, 5)
        assert torch.equal(pre(dict(inputs=u16))['inputs'], out)
    # int8 / int16 by their largest value
    i16 = torch.tensor([0, 16383, 32767], dtype=torch.int16).view(1, 1, 3)
    assert torch.equal(pre(dict(inputs=i16))['inputs'].view(-1),
                       torch.tensor([0, 16383, 32767]) / 32767.)
    # floats are kept (any range), uint8 as before
    assert pre(dict(inputs=torch.rand(2, 3, 4, 4) - 1))['inputs'].min() < 0


def test_int32_without_bit_depth_is_a_one_line_error():
    x = torch.zeros(1, 3, 4, 4, dtype=torch.int32)
    with pytest.raises(ValueError, match="'inputs' is torch.int32 with no bit "
                       "depth recorded .*give the field a white_level") as e:
        DataPreprocessor()(dict(inputs=x))
    assert '\n' not in str(e.value)
    # an explicit white level is enough
    out = DataPreprocessor(white_level=4095)(dict(inputs=x + 4095))['inputs']
    assert torch.equal(out, torch.ones(1, 3, 4, 4))


def test_black_and_white_levels_of_a_14_bit_raw():
    """(x - black) / (white - black), here 600 and 16383."""
    rng = np.random.default_rng(0)
    raw = rng.integers(600, 16384, (2, 1, 6, 8)).astype(np.int32)
    pre = DataPreprocessor(black_level=600, white_level=16383)
    out = pre(dict(inputs=torch.from_numpy(raw)))['inputs']
    expected = (raw.astype(np.float32) - np.float32(600)) / np.float32(15783)
    np.testing.assert_array_equal(out.numpy(), expected)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    # destruct(restore_levels=True) gives the codes back
    codes = pre.destruct(out, restore_levels=True)
    assert torch.equal(codes.round().to(torch.int32), torch.from_numpy(raw))


def test_real_raw_mosaic_through_levels():
    """The Kodak DC50 RAW (14 bit, black 0, white 16383), packed Bayer."""
    rawpy = pytest.importorskip('rawpy')
    from tests.helpers import shared_path
    with rawpy.imread(str(shared_path('data', 'raw',
                                      'RAW_KODAK_DC50.KDC'))) as raw:
        mosaic = raw.raw_image_visible.astype(np.int32)
        black = [float(b) for b in raw.black_level_per_channel]
        white = float(raw.white_level)
    packed = np.stack([mosaic[0::2, 0::2], mosaic[0::2, 1::2],
                       mosaic[1::2, 0::2], mosaic[1::2, 1::2]])
    pre = DataPreprocessor(black_level=black, white_level=white)
    out = pre(dict(inputs=[torch.from_numpy(packed)]))['inputs']
    assert out.shape == (1, 4, 256, 384)
    expected = (packed.astype(np.float32) - np.float32(black[0])) / \
        np.float32(white - black[0])
    np.testing.assert_array_equal(out[0].numpy(), expected)
    assert 0 < float(out.min()) and float(out.max()) == 1.0


def test_per_channel_levels_and_channel_count_errors():
    x = torch.full((2, 4, 3, 3), 1000, dtype=torch.int32)
    pre = DataPreprocessor(black_level=[0, 100, 200, 300], white_level=1100)
    out = pre(dict(inputs=x))['inputs']
    for c, black in enumerate([0, 100, 200, 300]):
        assert torch.allclose(out[:, c], torch.tensor(
            (1000. - black) / (1100. - black)))
    with pytest.raises(ValueError, match="black_level of 'inputs' has 4 "
                       'values but the images have 3 channels') as e:
        pre(dict(inputs=torch.zeros(1, 3, 3, 3, dtype=torch.int32)))
    assert '\n' not in str(e.value)


def test_mean_std_gives_minus_one_to_one_and_destruct_inverts():
    images = [torch.randint(0, 256, (3, 5, 6), dtype=torch.uint8)
              for _ in range(2)]
    samples = [DataSample(gt_img=img, metainfo=dict(key=str(i)))
               for i, img in enumerate(images)]
    pre = DataPreprocessor(mean=0.5, std=0.5)
    out = pre(dict(inputs=images, data_samples=samples))
    expected = torch.stack(images).float() / 255. * 2 - 1
    assert torch.allclose(out['inputs'], expected, atol=1e-7)
    assert float(out['inputs'].min()) >= -1 and float(out['inputs'].max()) <= 1
    assert torch.allclose(out['data_samples'][0].gt_img, expected[0],
                          atol=1e-7)
    # the samples record the range; the preprocessor knows it too
    assert out['data_samples'][1].metainfo['value_ranges'] == {
        'inputs': (-1.0, 1.0), 'gt_img': (-1.0, 1.0), 'lr_img': (-1.0, 1.0)}
    assert out['data_samples'][1].get_value_range('gt_img') == (-1.0, 1.0)
    assert pre.value_range('gt_img') == (-1.0, 1.0)
    back = pre.destruct(out['inputs'])
    assert torch.allclose(back, torch.stack(images).float() / 255., atol=1e-7)
    # per-channel mean/std (ImageNet style, in [0, 1] units)
    mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    pre = DataPreprocessor(mean=mean, std=std)
    out = pre(dict(inputs=images))['inputs']
    ref = (torch.stack(images).float() / 255. -
           torch.tensor(mean)[:, None, None]) / torch.tensor(std)[:, None,
                                                                  None]
    assert torch.allclose(out, ref, atol=1e-6)
    assert torch.allclose(pre.destruct(out), torch.stack(images) / 255.,
                          atol=1e-6)
    low, high = pre.value_range()
    assert low == pytest.approx(tuple(-m / s for m, s in zip(mean, std)))


def test_per_field_raw_input_and_16_bit_srgb_target():
    """RAW input by levels, 16-bit sRGB target by its bit depth, 8-bit LR."""
    raw = torch.randint(600, 16384, (4, 4, 4), dtype=torch.int32)
    srgb = torch.randint(0, 65536, (3, 8, 8), dtype=torch.int32)
    lr = torch.rand(3, 4, 4)
    sample = DataSample(gt_img=srgb, lr_img=lr,
                        metainfo=dict(bit_depths=dict(gt_img=16)))
    pre = MODELS.build(
        dict(type='DataPreprocessor',
             per_field=dict(inputs=dict(black_level=600, white_level=16383),
                            lr_img=dict(mean=0.5, std=0.5))))
    out = pre(dict(inputs=[raw], data_samples=[sample]))
    assert torch.equal(out['inputs'][0], (raw.float() - 600) / 15783)
    result = out['data_samples'][0]
    assert torch.equal(result.gt_img, srgb.float() / 65535)
    assert torch.allclose(result.lr_img, lr * 2 - 1)
    assert result.metainfo['value_ranges'] == {'lr_img': (-1.0, 1.0)}
    assert result.get_bit_depth('gt_img') == 16  # kept for saving
    # back to 16-bit codes for saving, from the recorded bit depth
    codes = pre.destruct(result.gt_img[None], [result], 'gt_img',
                         restore_levels=True)
    assert torch.equal(codes.round().to(torch.int32)[0], srgb)
    with pytest.raises(ValueError, match='no data sample records one'):
        pre.destruct(result.gt_img[None], None, 'gt_img', restore_levels=True)
    assert 'inputs: black_level=[600.0], white_level=[16383.0]' in repr(pre)


def test_mixed_bit_depths_in_one_batch():
    """uint8 codes and 16-bit int32 codes of the same picture agree."""
    picture = torch.randint(0, 256, (3, 4, 4), dtype=torch.uint8)
    wide = picture.to(torch.int32) * 257
    samples = [DataSample(metainfo=dict(bit_depths=dict(inputs=8))),
               _sample_16bit()]
    out = DataPreprocessor()(dict(inputs=[picture, wide],
                                  data_samples=samples))['inputs']
    assert torch.allclose(out[0], out[1], atol=1e-7)
    assert torch.equal(out[0], picture.float() / 255.)


def test_multi_image_and_mpi_batches():
    """(N, K, 3, H, W) and MPIs (N, 32, 4, H, W): channels are dim -3."""
    clips = [torch.randint(0, 256, (3, 3, 4, 4), dtype=torch.uint8)
             for _ in range(2)]
    out = DataPreprocessor(mean=[0.5, 0.5, 0.5], std=0.5)(
        dict(inputs=clips))['inputs']
    assert out.shape == (2, 3, 3, 4, 4)
    assert torch.allclose(out, torch.stack(clips) / 127.5 - 1, atol=1e-6)
    mpi = torch.rand(1, 32, 4, 4, 4)
    pre = DataPreprocessor(mean=[0.5, 0.5, 0.5, 0.0], std=[0.5, 0.5, 0.5, 1])
    out = pre(dict(inputs=mpi))['inputs']
    assert torch.allclose(out[:, :, 3], mpi[:, :, 3])  # alpha untouched
    assert torch.allclose(out[:, :, :3], mpi[:, :, :3] * 2 - 1)
    assert torch.allclose(pre.destruct(out), mpi, atol=1e-6)


@pytest.mark.parametrize('kwargs,match', [
    (dict(black_level=600, white_level=600),
     "white_level of 'inputs' must be above black_level, got black 600 and "
     'white 600'),
    (dict(black_level=[0, 0, 700], white_level=[255, 255, 650]),
     'must be above black_level, got black 700 and white 650'),
    (dict(std=-0.5), "std of 'inputs' must be positive, got \\[-0.5\\]"),
    (dict(std=[0.5, 0]), 'must be positive'),
    (dict(mean=[0.5, 0.5], std=[0.5, 0.5, 0.5]),
     "mean and std of 'inputs' have 2 and 3 values"),
    (dict(black_level='600'), "black_level of 'inputs' must be a number or "
     'a list of per-channel numbers'),
    (dict(white_level=[]), 'must be a number or a list'),
    (dict(mean=float('nan')), 'must be a number'),
    (dict(per_field=dict(gt=dict(mean=0.5))),
     "per_field key 'gt' is not 'inputs' or one of sample_fields"),
    (dict(per_field=dict(inputs=dict(black=600))),
     "per_field\\['inputs'\\] has unknown option\\(s\\) \\['black'\\]"),
    (dict(per_field=dict(inputs=600)), "per_field\\['inputs'\\] must be a "
     'dict'),
    (dict(per_field=dict(gt_img=dict(white_level=0))),
     "white_level of 'gt_img' must be above black_level"),
])
def test_bad_options_are_one_line_errors(kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        DataPreprocessor(**kwargs)
    assert '\n' not in str(info.value)


def test_runtime_level_errors():
    # a white level below the dtype's black, found when the data arrives
    pre = DataPreprocessor(black_level=300)
    with pytest.raises(ValueError, match='white level 255 of .inputs. \\(from '
                       'its dtype\\) is not above its black level 300'):
        pre(dict(inputs=torch.zeros(1, 3, 2, 2, dtype=torch.uint8)))
    with pytest.raises(ValueError, match='recorded bit depth is 20'):
        DataPreprocessor()(dict(
            inputs=[torch.zeros(3, 2, 2, dtype=torch.uint8)],
            data_samples=[DataSample(metainfo=dict(
                bit_depths=dict(inputs=20)))]))
    with pytest.raises(ValueError, match='torch.bool'):
        DataPreprocessor()(dict(inputs=torch.zeros(1, 3, 2, 2,
                                                   dtype=torch.bool)))
    with pytest.raises(ValueError, match='outputs must be a float tensor'):
        DataPreprocessor().destruct(torch.zeros(1, 3, 2, 2, dtype=torch.int32))
    with pytest.raises(ValueError, match="unknown field 'pred_img'"):
        DataPreprocessor().destruct(torch.zeros(1, 3, 2, 2), field='pred_img')


def test_defaults_are_bit_identical_to_uint8_division():
    """The default path is the one of earlier versions."""
    images = [torch.randint(0, 256, (3, 7, 5), dtype=torch.uint8)
              for _ in range(3)]
    gt = torch.randint(0, 256, (3, 7, 5), dtype=torch.uint8)
    out = DataPreprocessor()(dict(
        inputs=images, data_samples=[DataSample(gt_img=gt)] * 3))
    assert torch.equal(out['inputs'], torch.stack(images).float().div_(255.))
    assert torch.equal(out['data_samples'][0].gt_img, gt.float().div_(255.))
    assert 'value_ranges' not in out['data_samples'][0].metainfo
    floats = torch.rand(2, 3, 4, 4)
    assert DataPreprocessor()(dict(inputs=floats))['inputs'] is floats
