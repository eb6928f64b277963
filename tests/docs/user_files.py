# Copyright (c) invtoolbox contributors. All rights reserved.
"""Files a user would bring to the documented commands and examples: the
official releases with the official key layout (from the converter tests'
helpers) and random weights, or the released weights themselves where the
vectors hold them."""
import torch

from tests.helpers import shared_path


def random_like(shapes):
    state = {}
    for key, shape in shapes:
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(0)
        elif key.endswith('running_var'):
            state[key] = torch.ones(shape)
        else:
            state[key] = torch.randn(shape) * 0.02
    return state


def _official_irn(name):
    from tests.models.editors.irn.official_layout import official_keys
    return random_like(official_keys(name))


def _save(path, state):
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)


def official_irn_x2(root):  # the released IRN_x2 weights themselves
    vectors = torch.load(shared_path('vectors', 'irn_x2.pt'),
                         weights_only=True)
    _save(root / 'IRN_x2.pth', vectors['state_dict'])


def official_irn_x4(root):
    _save(root / 'IRN_x4.pth', _official_irn('IRN_x4'))


def official_irn_plus(root):
    from tests.models.editors.irn.official_layout import \
        official_discriminator_keys
    _save(root / 'IRN+_x4.pth', _official_irn('IRN_x4'))
    _save(root / '400000_D.pth', random_like(official_discriminator_keys()))


def official_crm(root):
    _save(root / 'CRM_x2_q90.pth', _official_irn('CRM_R'))
    _save(root / 'IRN_x2_finetune.pth', _official_irn('IRN_x2'))


def official_sain_x2(root):  # the released SAIN x2 JPEG weights themselves
    vectors = torch.load(shared_path('vectors', 'sain_x2.pt'),
                         weights_only=True)
    _save(root / 'SAINx2_JPEG.pth', vectors['state_dict'])


def official_iicnet_st01(root):
    from tests.models.editors.iicnet.official_layout import official_shapes
    _save(root / 'latest.pth',
          random_like(official_shapes('st-01').items()))


def official_invisp_nikon(root, raw_dir=None):
    """``nikon.pth`` in the official layout (the vectors' official state
    dict: seeded weights, not the trained ones) and, when ``raw_dir`` is
    given, a folder of two small synthetic camera DNGs (RGGB and GRBG)."""
    vectors = torch.load(shared_path('vectors', 'invisp.pt'),
                         weights_only=True)
    _save(root / 'nikon.pth', vectors['state_dict'])
    if raw_dir is not None:
        import numpy as np

        from invtoolbox.datasets.raw import SyntheticCamera, write_dng
        raw_dir.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(0)
        for i, cfa in enumerate(('RGGB', 'GRBG')):
            bayer, meta = SyntheticCamera(cfa=cfa).unprocess(
                rng.random((32, 48, 3)), seed=i)
            write_dng(raw_dir / f'DSC_000{i}.dng', bayer, meta)


def official_invcompress_q1(root):
    """``q1.pth.tar`` as the official ``checkpoint_updated`` release holds
    it (a plain state dict with filled CDF tables): the vectors' official
    state dict (keyed weights, not trained ones), and ``photo.png``, a
    128x192 crop of a demo image."""
    from PIL import Image

    from tests.helpers import REPO_ROOT, keyed_vectors
    _, state = keyed_vectors('invcompress.pt')
    _save(root / 'q1.pth.tar', state)
    Image.open(REPO_ROOT / 'demo' / 'kodim23_crop.png').crop(
        (0, 0, 192, 128)).save(root / 'photo.png')


def official_novelview(root):
    """``encoder_003_00015000.pth`` / ``decoder_003_00015000.pth`` as the
    official release holds them (the vectors' official state dicts: keyed
    weights, not the trained ones), ``discriminator_003_00015000.pth`` (a
    seeded pix2pixHD discriminator of the official layout) and ``frame/``,
    one 64x96 synthetic MPI frame in the official layout (made from three
    demo photographs)."""
    import numpy as np
    from PIL import Image

    from invtoolbox.datasets.mpi_dataset import write_mpi_folder
    from invtoolbox.datasets.synthetic_mpi import make_synthetic_scene
    from tests.helpers import REPO_ROOT, keyed_vectors
    _, state = keyed_vectors('novelview_jpeg.pt')
    for part in ('encoder', 'decoder'):
        _save(root / f'{part}_003_00015000.pth', {
            k[len(part) + 1:]: v
            for k, v in state.items() if k.startswith(part + '.')
        })
    from invtoolbox.models.editors.novelview import MultiscaleDiscriminator
    torch.manual_seed(0)
    _save(root / 'discriminator_003_00015000.pth',
          MultiscaleDiscriminator().state_dict())
    photos = [
        np.asarray(Image.open(REPO_ROOT / 'demo' / 'data' / 'train' /
                              f'clic_0{i}_0.png').convert('RGB'))
        for i in range(3)
    ]
    ref, mpi = make_synthetic_scene(photos, np.random.default_rng(0),
                                    size=(64, 96))
    write_mpi_folder(root / 'frame', ref, mpi)


def my_stereo_pairs(folder):
    """``data/my_pairs/{train,val}`` of docs/write_a_ric_task.md: the
    user's stereo pairs, here the two Middlebury 2003 pairs of
    ``../shared/data/stereo`` cut to 160x160 (one to train, one held out)."""
    from PIL import Image
    stereo = shared_path('data', 'stereo')
    for split, scene in (('train', 'middlebury2003_cones'),
                         ('val', 'middlebury2003_teddy')):
        pair = folder / 'data' / 'my_pairs' / split / scene
        pair.mkdir(parents=True)
        for view in ('left.png', 'right.png'):
            Image.open(stereo / scene / view).crop(
                (100, 100, 260, 260)).save(pair / view)


#: page -> writes the data its own folder needs (what the user brings)
PAGE_DATA = {'docs/write_a_ric_task.md': my_stereo_pairs}


def user_folder(page, root):
    """The folder of the user's own that ``page`` moves into (its first
    ``cd DIR``), made under ``root`` with the page's user files and data;
    None for a page that stays in the repository."""
    from tests.docs.doc_pages import bash_commands, python_steps, user_files
    folders = [c.cwd for c in bash_commands(page) if c.cwd]
    folders += [s.cwd for s in python_steps(page) if s.cwd]
    files = user_files(page)
    if not folders:
        assert not files, (
            f'{page} shows user files {sorted(files)} but never says where '
            'to write them (a `cd DIR` line in a bash block)')
        return None
    folder = root / folders[0]
    if folder.is_dir():  # made already
        return folder
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    if page in PAGE_DATA:
        PAGE_DATA[page](folder)
    return folder
