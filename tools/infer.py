# Copyright (c) invtoolbox contributors. All rights reserved.
r"""Run a trained model on files: rescaling (IRN family), Invertible-ISP
(RAW -> sRGB JPEG -> RAW) and novel views (an MPI hidden in a JPEG).

``downscale``: HR images -> the LR PNGs the model ships (8-bit, the size
divided by the scale; grey PNGs for IRN-Color).
``upscale``: those LR PNGs -> restored HR PNGs. The latent is a seeded
Gaussian (``--seed``; the config's ``test_cfg`` by default) or zero
(``--zero-latent``). For IRN-CRM models, ``upscale`` also takes the JPEG
files of the LR and restores them with the CRM first.

``render`` (Invertible-ISP): camera RAW files (DNG, NEF, CR2, ARW, ...;
Bayer sensors) -> sRGB JPEGs (quality 90, 4:2:2, as the official test), each
carrying the RAW's metadata (CFA pattern, levels, white balance, orientation)
in a comment segment.
``recover`` (Invertible-ISP): those JPEGs -> the recovered RAW as a DNG that
LibRaw (rawpy, darktable, RawTherapee) opens with the camera's CFA pattern,
black/white levels and white balance, plus ``.npy`` (the network's float RAW,
``(3, H, W)`` in [0, 1]). Recovery works from the model's own rendering only,
not from an arbitrary camera JPEG.

``embed`` (novel view): one multiplane image (MPI) folder in the official
layout (``src_image_0.png``, ``mpi_rgb_XX.png``, ``mpi_alpha_XX.png``; its
size a multiple of 16) -> one JPEG (Pillow, ``--quality`` 90, 4:2:0, as the
official test) that looks like the reference view and hides the MPI; it
carries an ``invtoolbox-novelview`` comment (plane count, size, weights
fingerprint). Prints the bytes, bpp and the PSNR of the JPEG against the
reference.
``render`` (novel view): that JPEG -> views of the recovered MPI: a
``.png`` at ``--pose TX TY TZ [RX RY RZ]`` (default: the reference pose), or
a looping ``.gif`` / ``.mp4`` along ``--path`` (``circle``, ``x``, ``y``,
``z``, ``swing``; ``--frames`` 30, ``--amplitude`` 0.068, ``--fps`` 15).
Translations are in the MPI's depth units (nearest plane at 1), angles in
degrees, within the model's trained range (``train_cfg.max_translation`` 0.5,
``max_rotation`` 8). A JPEG without the comment, or made by other weights, is
rendered after one warning (its views are meaningless). ``render`` serves the
model the config builds: Invertible-ISP (folders, as above) or novel view
(files).

Examples::

    python tools/infer.py downscale configs/irn/irn_x2.py irn_x2.pth hr/ lr/
    python tools/infer.py upscale configs/irn/irn_x2.py irn_x2.pth lr/ sr/ --seed 0
    python tools/infer.py render configs/invisp/invisp_nikon_fivek.py nikon.pth raw/ jpg/
    python tools/infer.py recover configs/invisp/invisp_nikon_fivek.py nikon.pth jpg/ dng/
    python tools/infer.py embed configs/novelview/novelview_realestate10k.py \
        novelview.pth frame/ frame.jpg
    python tools/infer.py render configs/novelview/novelview_realestate10k.py \
        novelview.pth frame.jpg view.png --pose 0.05 0 0
    python tools/infer.py render configs/novelview/novelview_realestate10k.py \
        novelview.pth frame.jpg orbit.gif --path circle --frames 40

Every output of the folder commands is ``OUT_DIR/<input name>.png``
(``.jpg`` for Invertible-ISP ``render``, ``.dng`` + ``.npy`` for
``recover``); the novel-view commands write the one file named. Outputs are
written to a temporary file and renamed into place. The output folder must
differ from the input folder, and existing outputs are only replaced with
``--overwrite``. Errors (missing folder or file, unreadable image, size not
divisible by the scale, a file that is not a Bayer RAW, a JPEG without RAW
metadata or of another size than its RAW, an MPI folder with a missing plane
or planes of different sizes or another plane count than the model's, a size
not a multiple of 16, a file that is not a JPEG, a pose out of range, an
unknown output extension) stop the run with a one-line message and exit
status 1; the inputs are checked before anything is written, and a file that
fails later leaves no partial output.
"""
import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from mmengine.utils import ProgressBar
from PIL import Image

from invtoolbox.apis import init_model
from invtoolbox.apis.checkpoint_io import write_file_atomic
from invtoolbox.apis.novelview_inference import (CAMERA_PATHS,
                                                 DEFAULT_AMPLITUDE,
                                                 VIEW_FORMATS)
from invtoolbox.errors import InvToolboxError
from invtoolbox.utils import img2tensor, tensor2img

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp',
                  '.ppm')
#: novel-view animations: frames and frames per second by default
DEFAULT_FRAMES, DEFAULT_FPS = 30, 15.0


class InferError(InvToolboxError, ValueError):
    """Bad input to infer.py (printed as a one-line message)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run a trained model on files: downscale / upscale (IRN '
        'family), render / recover (Invertible-ISP), embed / render (novel '
        'views in a JPEG).')
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p, input_help='folder of input images',
               output_help='folder for the output PNGs',
               names=('input_dir', 'output_dir')):
        p.add_argument('config', help='model config file')
        p.add_argument('checkpoint', help='invtoolbox checkpoint (.pth)')
        p.add_argument('input_dir', metavar=names[0], help=input_help)
        p.add_argument('output_dir', metavar=names[1], help=output_help)
        p.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
        p.add_argument(
            '--overwrite',
            action='store_true',
            help='replace existing output files')
        p.add_argument(
            '--quiet', action='store_true', help='no progress bar')

    down = sub.add_parser('downscale', help='HR images -> LR PNGs')
    common(down)
    down.add_argument(
        '--modcrop',
        action='store_true',
        help='crop HR images to a multiple of the scale (bottom/right) '
        'instead of stopping with an error')
    up = sub.add_parser('upscale', help='LR images -> HR PNGs')
    common(up)
    latent = up.add_mutually_exclusive_group()
    latent.add_argument(
        '--seed',
        type=int,
        help='seed of the Gaussian latent (default: the config test_cfg)')
    latent.add_argument(
        '--zero-latent',
        action='store_true',
        help='use z = 0 instead of a Gaussian latent')
    up.add_argument(
        '--gaussian-scale',
        type=float,
        help='std of the Gaussian latent (default: the config test_cfg)')
    render = sub.add_parser(
        'render',
        help='camera RAW files -> sRGB JPEGs (Invertible-ISP); an embedding '
        'JPEG -> a view (.png) or an animation (.gif, .mp4) (novel view)',
        description='Invertible-ISP: a folder of camera RAW files -> a '
        'folder of sRGB JPEGs. Novel view: the JPEG written by embed -> '
        'one view (.png, at --pose) or a looping animation (.gif, .mp4, '
        'along --path). The config decides which.')
    common(render,
           'Invertible-ISP: folder of camera RAW files; novel view: the '
           'JPEG written by embed',
           'Invertible-ISP: folder for the JPEGs; novel view: the output '
           'file, .png, .gif or .mp4', names=('input', 'output'))
    render.add_argument('--quality', type=int, default=None,
                        help='Invertible-ISP: JPEG quality (default: 90, as '
                        'the official test)')
    novel = render.add_argument_group(
        'novel view (translations in the MPI depth units, the nearest '
        'plane at depth 1; angles in degrees; within the trained range of '
        'the model, by default |t| <= 0.5, |r| <= 8)')
    novel.add_argument('--pose', nargs='+', type=float,
                       metavar=('TX TY TZ', 'RX RY RZ'),
                       help='the camera pose of a .png view (default: 0 0 '
                       '0, the reference view)')
    novel.add_argument('--path', choices=CAMERA_PATHS,
                       help='camera path of a .gif / .mp4: circle (x-y '
                       'circle), x, y, z (back and forth), swing (along x '
                       'while turning to keep the point at depth 2 '
                       'centred) (default: circle)')
    novel.add_argument('--frames', type=int,
                       help=f'frames of the animation (default: '
                       f'{DEFAULT_FRAMES})')
    novel.add_argument('--amplitude', type=float,
                       help='largest translation of the path (default: '
                       f'{DEFAULT_AMPLITUDE:g} = 4 x 0.017, the largest '
                       'move of the official evaluation)')
    novel.add_argument('--fps', type=float,
                       help=f'frames per second (default: {DEFAULT_FPS:g})')
    embed = sub.add_parser(
        'embed',
        help='an MPI folder -> a JPEG that hides it (novel view)',
        description='Hide the multiplane image of a frame folder '
        '(src_image_0.png, mpi_rgb_XX.png, mpi_alpha_XX.png; the size a '
        'multiple of 16) in a JPEG that looks like the reference view.')
    embed.add_argument('config', help='model config file (NovelViewJPEG)')
    embed.add_argument('checkpoint', help='invtoolbox checkpoint (.pth)')
    embed.add_argument('input_dir', metavar='mpi_dir',
                       help='the MPI frame folder')
    embed.add_argument('output_dir', metavar='output',
                       help='the JPEG to write (.jpg, .jpeg)')
    embed.add_argument('--quality', type=int, default=90,
                       help='JPEG quality (default: 90, as the official '
                       'test)')
    embed.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    embed.add_argument('--overwrite', action='store_true',
                       help='replace an existing output file')
    recover = sub.add_parser(
        'recover',
        help='JPEGs written by render -> RAW as DNG + .npy (Invertible-ISP)')
    common(recover)
    recover.add_argument('--no-npy', action='store_true',
                         help='write only the DNG files')
    return parser.parse_args(argv)


def list_images(folder: Path):
    """Sorted image files of ``folder``; one-line errors when unusable."""
    return list_files(folder, lambda p: p.suffix.lower() in IMAGE_SUFFIXES,
                      f'images ({", ".join(IMAGE_SUFFIXES)})')


def image_size(path: Path):
    """(width, height) from the file header; one-line error if unreadable."""
    try:
        with Image.open(path) as img:
            return img.size
    except (OSError, ValueError) as err:
        raise InferError(f'cannot read image {path} ({err}); remove or fix '
                         'it.') from None


def read_image(path: Path, channels: int) -> np.ndarray:
    """uint8 ``(H, W, 3)`` RGB or ``(H, W)`` grey."""
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert('L' if channels == 1 else 'RGB'))
    except (OSError, ValueError) as err:
        raise InferError(f'cannot read image {path} ({err}); remove or fix '
                         'it.') from None


def write_png_atomic(array: np.ndarray, path: Path) -> None:
    """Write ``array`` as a PNG via a temporary file + ``os.replace``."""
    write_file_atomic(
        path, lambda f: Image.fromarray(array).save(f, format='PNG'))


def prepare_output(input_dir: Path, output_dir: Path, files, overwrite):
    """Create ``output_dir``; refuse the input folder and existing outputs."""
    targets = [output_dir / (p.stem + '.png') for p in files]
    refuse_existing(input_dir, output_dir, targets, overwrite)
    return targets


def check_isp_model(model):
    for name in ('render', 'recover'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an Invertible-ISP '
                f'model (no {name!r}); use a configs/invisp/ config.')


def list_files(folder: Path, accept, what: str):
    """Sorted files of ``folder`` that ``accept``; one-line errors."""
    if not folder.exists():
        raise FileNotFoundError(f'input folder {folder} not found.')
    if not folder.is_dir():
        raise InferError(f'{folder} is not a folder; pass a folder of '
                         f'{what}.')
    files = sorted(p for p in folder.iterdir()
                   if p.is_file() and not p.name.startswith('.') and
                   accept(p))
    if not files:
        raise InferError(f'no {what} in {folder}.')
    stems = {}
    for path in files:
        if path.stem in stems:
            raise InferError(
                f'{stems[path.stem].name} and {path.name} would both be '
                f'written as {path.stem}.*; rename one of them.')
        stems[path.stem] = path
    return files


def refuse_existing(input_dir: Path, output_dir: Path, targets, overwrite):
    """Refuse the input folder and (without --overwrite) existing outputs;
    create ``output_dir``."""
    if output_dir.exists() and output_dir.resolve() == input_dir.resolve():
        raise InferError(f'output folder {output_dir} is the input folder; '
                         'choose another one (inputs are never overwritten).')
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise InferError(
                f'{existing[0]} already exists ({len(existing)} outputs '
                'exist); pass --overwrite or choose an empty folder.')
    output_dir.mkdir(parents=True, exist_ok=True)


def run_isp(args) -> int:
    """``render`` / ``recover`` with an Invertible-ISP model."""
    from invtoolbox.apis.invisp_inference import (check_rendered_jpeg,
                                                  recover_raw_from_jpeg,
                                                  render_raw_file,
                                                  write_rendered_jpeg,
                                                  write_recovered_raw)
    from invtoolbox.datasets.raw import is_raw_file, read_raw
    input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
    quality = 90 if getattr(args, 'quality', None) is None else args.quality
    if args.command == 'render':
        refuse_novel_view_options(args)
        files = list_files(input_dir, lambda p: is_raw_file(p.name),
                           'camera RAW files (.dng, .nef, .cr2, .arw, ...)')
        for path in files:  # every input is checked before any output
            read_raw(path)
        targets = [[output_dir / (p.stem + '.jpg')] for p in files]
    else:
        files = list_files(input_dir,
                           lambda p: p.suffix.lower() in ('.jpg', '.jpeg'),
                           'JPEG files (.jpg, .jpeg)')
        for path in files:  # decoded in full: a truncated file shows here
            check_rendered_jpeg(path)
        targets = [[output_dir / (p.stem + '.dng')] +
                   ([] if args.no_npy else [output_dir / (p.stem + '.npy')])
                   for p in files]
    refuse_existing(input_dir, output_dir, [t for ts in targets for t in ts],
                    args.overwrite)
    model = init_model(args.config, args.checkpoint, device=args.device)
    check_isp_model(model)
    model.eval()
    bar = None if args.quiet else ProgressBar(len(files), file=sys.stderr)
    for path, outs in zip(files, targets):
        if args.command == 'render':
            write_rendered_jpeg(
                render_raw_file(model, path, quality=quality), outs[0])
        else:
            recovered = recover_raw_from_jpeg(model, path)
            write_recovered_raw(recovered, outs[0],
                                outs[1] if len(outs) > 1 else None,
                                overwrite=args.overwrite)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    kind = 'JPEG' if args.command == 'render' else 'DNG'
    print(f'wrote {len(files)} {kind} file(s) to {output_dir}')
    return 0


NOVEL_VIEW_OPTIONS = ('pose', 'path', 'frames', 'amplitude', 'fps')


def refuse_novel_view_options(args):
    given = [f'--{name}' for name in NOVEL_VIEW_OPTIONS
             if getattr(args, name, None) is not None]
    if given:
        raise InferError(f'{", ".join(given)} only apply to novel-view '
                         'models (configs/novelview/); the config builds '
                         'an Invertible-ISP model.')


def config_model_class(config):
    """The class the config's ``model.type`` names (None when it cannot be
    told without building the model); one-line errors for a missing or
    broken config."""
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from invtoolbox.registry import MODELS
    from invtoolbox.utils import register_all_modules
    path = Path(config)
    if not path.is_file():
        raise FileNotFoundError(f'config {config!r} not found; pass a model '
                                'config file (configs/<algorithm>/...py).')
    try:
        cfg = Config.fromfile(str(path))
    except (SyntaxError, NameError, KeyError, TypeError, ImportError,
            AttributeError, ValueError) as err:
        raise InferError(f'cannot read config {config!r} ({type(err).__name__}'
                         f': {err}); check the config.') from None
    model = cfg.get('model')
    model_type = model.get('type') if hasattr(model, 'get') else None
    if isinstance(model_type, type):
        return model_type
    if not isinstance(model_type, str):
        return None
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('invtoolbox'):
        return MODELS.get(model_type)


def is_novel_view(model_class) -> bool:
    from invtoolbox.models.editors.novelview import NovelViewJPEG
    return isinstance(model_class, type) and issubclass(
        model_class, NovelViewJPEG)


def check_output_file(src: Path, out: Path, overwrite: bool) -> None:
    """Refuse an output that is the input, a folder, or (without
    --overwrite) an existing file."""
    if out.exists() and src.exists() and out.resolve() == src.resolve():
        raise InferError(f'output {out} is the input; choose another path '
                         '(inputs are never overwritten).')
    if out.is_dir():
        raise InferError(f'output {out} is a folder; name the file to '
                         'write.')
    if out.exists() and not overwrite:
        raise InferError(f'{out} already exists; pass --overwrite or choose '
                         'another path.')


def warn(message: str) -> None:
    print(f'infer.py: warning: {message}', file=sys.stderr)


def run_embed(args) -> int:
    """``embed``: an MPI folder -> an embedding JPEG (novel view)."""
    from invtoolbox.apis.novelview_inference import embed_mpi
    mpi_dir, out = Path(args.input_dir), Path(args.output_dir)
    if out.suffix.lower() not in ('.jpg', '.jpeg'):
        raise InferError(f'{out}: embed writes a JPEG; name the output '
                         '.jpg or .jpeg.')
    if not 1 <= args.quality <= 100:
        raise InferError(f'--quality must be in 1..100, got {args.quality}.')
    if not mpi_dir.exists():
        raise FileNotFoundError(f'MPI folder {mpi_dir} not found.')
    if not mpi_dir.is_dir():
        raise InferError(f'{mpi_dir} is not a folder; pass the MPI frame '
                         'folder (src_image_0.png, mpi_rgb_XX.png, '
                         'mpi_alpha_XX.png).')
    check_output_file(mpi_dir, out, args.overwrite)
    model = init_model(args.config, args.checkpoint, device=args.device)
    result = embed_mpi(model, mpi_dir, out, quality=args.quality)
    height, width = result.size
    print(f'embedded {mpi_dir} ({result.num_planes} planes, {height}x{width}'
          f') -> {out}: {result.num_bytes} bytes, {result.bpp:.3f} bpp, '
          f'PSNR {result.psnr:.2f} dB against the reference view')
    return 0


def run_novel_view_render(args) -> int:
    """``render`` with a novel-view model: an embedding JPEG -> a view or
    an animation."""
    from invtoolbox.apis.novelview_inference import (camera_path,
                                                     check_poses,
                                                     render_from_jpeg,
                                                     write_views)
    src, out = Path(args.input_dir), Path(args.output_dir)
    ext = out.suffix.lower()
    if ext not in VIEW_FORMATS:
        raise InferError(f'{out}: unknown output type {ext or "(none)"!r}; '
                         'use .png (one view), .gif or .mp4 (an animation).')
    if args.quality is not None:
        raise InferError('--quality applies to Invertible-ISP render; a '
                         'novel-view render writes PNG, GIF or MP4 (the '
                         'JPEG quality is chosen at embed).')
    animated = [f'--{name}' for name in NOVEL_VIEW_OPTIONS[1:]
                if getattr(args, name) is not None]
    if ext == '.png':
        if animated:
            raise InferError(f'{", ".join(animated)}: only for an '
                             'animation; name the output .gif or .mp4 (a '
                             '.png is one view, at --pose).')
        if args.pose is not None and len(args.pose) not in (3, 6):
            raise InferError(f'--pose takes 3 numbers (TX TY TZ) or 6 (TX '
                             f'TY TZ RX RY RZ), got {len(args.pose)}.')
        poses = [tuple(args.pose or (0.0, 0.0, 0.0))]
    else:
        if args.pose is not None:
            raise InferError('--pose renders one view; name the output '
                             '.png, or use --path for an animation.')
        fps = DEFAULT_FPS if args.fps is None else args.fps
        if not fps > 0:
            raise InferError(f'--fps must be positive, got {args.fps:g}.')
        if args.frames is not None and args.frames < 1:
            raise InferError(f'--frames must be >= 1, got {args.frames}.')
        amplitude = (DEFAULT_AMPLITUDE
                     if args.amplitude is None else args.amplitude)
        if not amplitude >= 0:
            raise InferError(f'--amplitude must be >= 0, got {amplitude:g}.')
        kind = args.path or 'circle'
        poses = camera_path(
            kind, DEFAULT_FRAMES if args.frames is None else args.frames,
            amplitude)
    if not src.exists():
        raise FileNotFoundError(f'embedding {src} not found.')
    if not src.is_file():
        raise InferError(f'{src} is not a file; pass the JPEG written by '
                         'infer.py embed.')
    check_output_file(src, out, args.overwrite)
    model = init_model(args.config, args.checkpoint, device=args.device)
    for pose in poses:  # each alone: the message names the option
        try:
            check_poses(model, [pose])
        except ValueError as err:
            given = (f'--pose {" ".join(f"{v:g}" for v in pose)}'
                     if ext == '.png' else
                     f'--path {kind} --amplitude {amplitude:g}')
            raise InferError(f'{given}: {err}') from None
    views = render_from_jpeg(model, src, poses, warn=warn)
    write_views(views, out, DEFAULT_FPS if ext == '.png' else fps)
    what = 'a view' if ext == '.png' else f'{len(views)} frames'
    print(f'wrote {what} of {src} to {out}')
    return 0


def check_model(model):
    for name in ('downscale', 'upscale', 'scale', 'lr_channels'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an IRN-family '
                f'model (no {name!r}); use an IRN / IRN-Color / IRN-CRM '
                'config.')


def run(args) -> int:
    if args.command in ('render', 'embed'):
        model_class = config_model_class(args.config)
        if is_novel_view(model_class):
            return (run_embed(args) if args.command == 'embed' else
                    run_novel_view_render(args))
        name = getattr(model_class, '__name__', 'an unknown model')
        if args.command == 'embed':
            raise InferError(
                f'embed serves novel-view models (NovelViewJPEG, configs/'
                f'novelview/); the config builds {name}.')
        if model_class is not None and not (hasattr(model_class, 'render')
                                            and hasattr(model_class,
                                                        'recover')):
            raise InferError(
                f'render serves Invertible-ISP models (configs/invisp/: RAW '
                f'folder -> JPEGs) and novel-view models (configs/novelview/'
                f': embedding JPEG -> views); the config builds {name}.')
    if args.command in ('render', 'recover'):
        return run_isp(args)
    input_dir, output_dir = Path(args.input_dir), Path(args.output_dir)
    files = list_images(input_dir)
    sizes = [image_size(p) for p in files]
    model = init_model(args.config, args.checkpoint, device=args.device)
    check_model(model)
    scale = int(model.scale)
    crops = [None] * len(files)
    if args.command == 'downscale':
        for i, (path, (w, h)) in enumerate(zip(files, sizes)):
            if h % scale or w % scale:
                if not args.modcrop:
                    raise InferError(
                        f'{path} is {w}x{h} (width x height), not '
                        f'divisible by the scale '
                        f'{scale}; crop it to {w - w % scale}x'
                        f'{h - h % scale} or pass --modcrop.')
                crops[i] = (h - h % scale, w - w % scale)
                if min(crops[i]) == 0:
                    raise InferError(f'{path} is {w}x{h}, smaller than the '
                                     f'scale {scale}.')
    targets = prepare_output(input_dir, output_dir, files, args.overwrite)
    device = torch.device(args.device)
    up_kwargs = {}
    if args.command == 'upscale':
        if args.zero_latent:
            up_kwargs['latent'] = 'zero'
        elif args.seed is not None:
            up_kwargs.update(latent='gaussian', seed=args.seed)
        if args.gaussian_scale is not None:
            up_kwargs['gaussian_scale'] = args.gaussian_scale
    in_channels = (
        model.generator.in_channels
        if args.command == 'downscale' else model.lr_channels)
    bar = None if args.quiet else ProgressBar(len(files), file=sys.stderr)
    for path, target, crop in zip(files, targets, crops):
        image = read_image(path, 1 if in_channels == 1 else 3)
        if crop is not None:
            image = image[:crop[0], :crop[1]]
        x = img2tensor(image)[None].to(device)
        with torch.no_grad():
            if args.command == 'downscale':
                out = model.downscale(x)
            else:
                out = model.upscale(x, **up_kwargs)
        write_png_atomic(tensor2img(out), target)
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stderr.write('\n')
    print(f'wrote {len(files)} image(s) to {output_dir}')
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return run(args)
    except (InvToolboxError, ValueError, FileNotFoundError, OSError) as err:
        message = ' '.join(str(err).split()) or type(err).__name__
        print(f'infer.py: error: {message}', file=sys.stderr)
        return 1


if __name__ == '__main__':
    sys.exit(main())
