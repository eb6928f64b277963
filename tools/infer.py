# Copyright (c) invtoolbox contributors. All rights reserved.
r"""Run a trained model on your own files: one command per capability.

CONFIG is a config file or the work dir of a training run (its saved
config); CKPT is a checkpoint (published, converted, or ``iter_N.pth`` of
your own run) or a work dir (its latest checkpoint). Which commands a model
offers follows from its capability:

rescaling (IRN, IRN-Color, IRN-CRM, IRN+, SAIN):
  ``downscale``  HR images -> the LR PNGs the model ships (grey PNGs for
                 IRN-Color).
  ``upscale``    those LR PNGs -> restored HR PNGs. The latent is the
                 config's (``test_cfg``), ``--seed N`` or ``--zero-latent``.
                 IRN-CRM also restores JPEG files of the LR.
  ``roundtrip``  HR -> LR -> a real codec (``--codec jpeg|webp``,
                 ``--quality``) -> HR; writes the restored PNGs (and the
                 compressed LR with ``--keep-lr``) and prints bytes, bpp, PSNR
                 and Y-PSNR per image.
reversible conversion (IICNet tasks):
  ``embed``      the task's K images (a folder, natural order: img2 before
                 img10; ``--start`` picks K of more) or, for video tasks, a
                 video file or GIF -> one PNG (with a text chunk naming the
                 task and the source images).
  ``restore``    that PNG -> the K images (a folder of PNGs named after the
                 sources), or a ``.gif`` / ``.mp4`` for video tasks.
Invertible-ISP:
  ``render``     camera RAW files (DNG, NEF, CR2, ARW, ...) -> sRGB JPEGs
                 (quality 90, 4:2:2, as the official test) carrying the RAW's
                 metadata.
  ``recover``    those JPEGs -> RAW as DNG (+ ``.npy``, the network's float
                 RAW).
novel view (an MPI hidden in a JPEG):
  ``embed``      an MPI folder (``src_image_0.png``, ``mpi_rgb_XX.png``,
                 ``mpi_alpha_XX.png``) -> one JPEG (``--quality`` 90, 4:2:0).
  ``render``     that JPEG -> a view ``.png`` at ``--pose TX TY TZ [RX RY
                 RZ]``, or a looping ``.gif`` / ``.mp4`` along ``--path``
                 (circle, x, y, z, swing; ``--frames``, ``--amplitude``,
                 ``--fps``), within the trained range.
The learned codec (InvCompress) has its own file tool: tools/codec.py.

Large images: ``--tile N`` processes the rescaling and conversion commands
in tiles of N pixels (of the input) plus a halo covering the network's
receptive field, so the output equals the untiled output bit for bit;
``--max-memory 2G`` picks the tile size from a memory budget (measured on
CPU). A progress bar runs over the tiles.

Images are read as the training loader reads them (EXIF orientation
applied, 16-bit scaled to 8 bits, grey expanded); images with alpha are
composited on white (``--background R G B``) or refused (``--alpha
refuse``), said once.

Examples::

    python tools/infer.py downscale configs/irn/irn_x2_div2k.py irn_x2.pth hr/ lr/
    python tools/infer.py upscale configs/irn/irn_x2_div2k.py irn_x2.pth lr/ sr/ --seed 0
    python tools/infer.py roundtrip work_dirs/irn_x2_quickstart \
        work_dirs/irn_x2_quickstart hr/ out/ --codec jpeg --quality 75
    python tools/infer.py downscale configs/irn/irn_x2_div2k.py irn_x2.pth \
        big/ lr/ --max-memory 2G
    python tools/infer.py embed configs/iicnet/video_embed.py st01.pth clip.mp4 clip.png
    python tools/infer.py restore configs/iicnet/video_embed.py st01.pth clip.png clip.gif
    python tools/infer.py render configs/invisp/invisp_nikon_fivek.py nikon.pth raw/ jpg/
    python tools/infer.py recover configs/invisp/invisp_nikon_fivek.py nikon.pth jpg/ dng/
    python tools/infer.py embed configs/novelview/novelview_realestate10k.py \
        novelview.pth frame/ frame.jpg
    python tools/infer.py render configs/novelview/novelview_realestate10k.py \
        novelview.pth frame.jpg orbit.gif --path circle --frames 40

``downscale`` / ``upscale`` / ``roundtrip`` / ``render`` / ``recover`` take a
folder (every image in it) or one file, and write ``OUT_DIR/<input
name>.png`` (``.jpg`` for Invertible-ISP ``render``, ``.dng`` + ``.npy`` for
``recover``); given one input file, OUTPUT may also name the output file.
Outputs are written to a temporary file and renamed into place; the output
folder must differ from the input folder, and existing outputs are only
replaced with ``--overwrite``. Bad input (a missing or unreadable file, a
size not divisible by the scale, a checkpoint that does not fit the config,
a command the model does not offer, ...) stops with a one-line message and
exit status 1; inputs are checked before anything is written, and a file
that fails later leaves no partial output.
"""
import argparse
import json
import os
import sys
from pathlib import Path

# A python without torch/mmengine re-runs this script with the repo's .venv
# (tools/repo_venv.py), before the heavy imports.
if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from repo_venv import use_repo_venv
    use_repo_venv()
    del sys.path[0]

import numpy as np
from mmengine.utils import ProgressBar
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from invtoolbox.apis.checkpoint_io import write_file_atomic
from invtoolbox.apis.inferencer import (CODEC_SUFFIXES, ROUNDTRIP_CODECS,
                                        Inferencer, capability_of,
                                        describe_capability,
                                        resolve_run_files)
from invtoolbox.apis.media_io import (is_video_file, list_image_files,
                                      read_video_frames, write_frames)
from invtoolbox.apis.novelview_inference import (CAMERA_PATHS,
                                                 DEFAULT_AMPLITUDE,
                                                 VIEW_FORMATS)
from invtoolbox.errors import InvToolboxError
from invtoolbox.utils.image_io import image_size

#: novel-view animations: frames and frames per second by default
DEFAULT_FRAMES, DEFAULT_FPS = 30, 15.0
#: frames per second of a restored animation when the embedding names none
DEFAULT_RESTORE_FPS = 10.0
#: the PNG text key of a reversible-conversion embedding
EMBED_KEY = 'invtoolbox-ric'


class InferError(InvToolboxError, ValueError):
    """Bad input to infer.py (printed as a one-line message)."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Run a trained model on your own files: downscale / '
        'upscale / roundtrip (rescaling), embed / restore (reversible '
        'conversion), render / recover (Invertible-ISP), embed / render '
        '(novel views in a JPEG).',
        epilog='CONFIG may be the work dir of a training run (its saved '
        'config), CKPT a work dir (its latest checkpoint).')
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p, input_help='folder of input images (or one image)',
               output_help='folder for the output PNGs (or the output file '
               'when INPUT is one file)',
               names=('input_dir', 'output_dir')):
        p.add_argument('config', help='model config file, or a training '
                       'work dir')
        p.add_argument('checkpoint', help='invtoolbox checkpoint (.pth), '
                       'or a training work dir (its latest checkpoint)')
        p.add_argument('input_dir', metavar=names[0], help=input_help)
        p.add_argument('output_dir', metavar=names[1], help=output_help)
        p.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
        p.add_argument(
            '--overwrite',
            action='store_true',
            help='replace existing output files')
        p.add_argument(
            '--quiet', action='store_true', help='no progress bar')

    def images(p):
        """Options of the commands that read ordinary images."""
        group = p.add_argument_group('images and large images')
        size = group.add_mutually_exclusive_group()
        size.add_argument('--tile', type=int, metavar='N',
                          help='process each image in tiles of N x N input '
                          'pixels (plus a halo covering the receptive '
                          'field): the output equals the untiled one')
        size.add_argument('--max-memory', metavar='SIZE',
                          help='choose the tile size so that the process '
                          'stays within SIZE (e.g. 2G, 1500M); images that '
                          'fit run untiled')
        group.add_argument('--alpha', choices=('composite', 'refuse'),
                           default='composite',
                           help='images with alpha: composite them on the '
                           'background (default) or stop')
        group.add_argument('--background', type=int, nargs=3,
                           default=(255, 255, 255), metavar=('R', 'G', 'B'),
                           help='background of composited alpha (default: '
                           'white)')

    def latent(p):
        group = p.add_mutually_exclusive_group()
        group.add_argument(
            '--seed',
            type=int,
            help='seed of the Gaussian latent (default: the config test_cfg)')
        group.add_argument(
            '--zero-latent',
            action='store_true',
            help='use z = 0 instead of a Gaussian latent')
        p.add_argument(
            '--gaussian-scale',
            type=float,
            help='std of the Gaussian latent (default: the config test_cfg)')

    down = sub.add_parser('downscale', help='HR images -> LR PNGs '
                          '(rescaling)')
    common(down)
    images(down)
    down.add_argument(
        '--modcrop',
        action='store_true',
        help='crop HR images to a multiple of the scale (bottom/right) '
        'instead of stopping with an error')
    up = sub.add_parser('upscale', help='LR images -> HR PNGs (rescaling)')
    common(up)
    images(up)
    latent(up)
    trip = sub.add_parser(
        'roundtrip',
        help='HR -> LR -> real codec -> HR, with PSNR (rescaling)')
    common(trip)
    images(trip)
    latent(trip)
    trip.add_argument('--codec', choices=tuple(ROUNDTRIP_CODECS),
                      default='jpeg', help='the codec of the LR (default: '
                      'jpeg, Pillow 4:2:0)')
    trip.add_argument('--quality', type=int, default=75,
                      help='codec quality 1..100 (default: 75)')
    trip.add_argument('--modcrop', action='store_true',
                      help='crop HR images to a multiple of the scale')
    trip.add_argument('--keep-lr', action='store_true',
                      help='also write the compressed LR '
                      '(<name>_lr.jpg / .webp)')
    restore = sub.add_parser(
        'restore',
        help='an embedding PNG -> the K images or a GIF / MP4 (reversible '
        'conversion)')
    common(restore, 'the embedding PNG written by embed',
           'a folder for the restored PNGs, or a .gif / .mp4 (video '
           'tasks)', names=('embedding', 'output'))
    images(restore)
    restore.add_argument('--fps', type=float,
                         help='frames per second of a .gif / .mp4 (default: '
                         "the source video's, else 10)")
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
        help='the K images of a reversible-conversion task (a folder, or a '
        'video / GIF) -> one PNG; an MPI folder -> a JPEG that hides it '
        '(novel view)',
        description='Reversible conversion (IICNet): the task\'s K images, '
        'a folder in natural order (or a video file / GIF for video tasks) '
        '-> one PNG. Novel view: the multiplane image of a frame folder '
        '(src_image_0.png, mpi_rgb_XX.png, mpi_alpha_XX.png; the size a '
        'multiple of 16) -> a JPEG that looks like the reference view.')
    embed.add_argument('config', help='model config file, or a training '
                       'work dir')
    embed.add_argument('checkpoint', help='invtoolbox checkpoint (.pth), or '
                       'a training work dir')
    embed.add_argument('input_dir', metavar='input',
                       help='conversion: a folder of images or a video / '
                       'GIF; novel view: the MPI frame folder')
    embed.add_argument('output_dir', metavar='output',
                       help='conversion: the PNG to write; novel view: the '
                       'JPEG to write (.jpg, .jpeg)')
    embed.add_argument('--quality', type=int, default=None,
                       help='novel view: JPEG quality (default: 90, as the '
                       'official test)')
    embed.add_argument('--start', type=int, default=None,
                       help='conversion: embed images (frames) START .. '
                       'START+K-1 of the folder / video (default: 0)')
    embed.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    embed.add_argument('--overwrite', action='store_true',
                       help='replace an existing output file')
    embed.add_argument('--quiet', action='store_true', help='no progress bar')
    images(embed)
    recover = sub.add_parser(
        'recover',
        help='JPEGs written by render -> RAW as DNG + .npy (Invertible-ISP)')
    common(recover)
    recover.add_argument('--no-npy', action='store_true',
                         help='write only the DNG files')
    return parser.parse_args(argv)


def check_isp_model(model):
    for name in ('render', 'recover'):
        if not hasattr(model, name):
            raise InferError(
                f'the model {type(model).__name__} is not an Invertible-ISP '
                f'model (no {name!r}); use a configs/invisp/ config.')


def load_model(args):
    """The model of the command's config and checkpoint (a config file or
    work dir; a checkpoint or work dir)."""
    return Inferencer(args.config, args.checkpoint, device=args.device).model


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
    check_unique_stems(files, '.*')
    return files


def check_unique_stems(files, suffix: str) -> None:
    """Refuse two inputs that would be written to one output name."""
    stems = {}
    for path in files:
        if path.stem in stems:
            raise InferError(
                f'{stems[path.stem].name} and {path.name} would both be '
                f'written as {path.stem}{suffix}; rename one of them.')
        stems[path.stem] = path


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
    model = load_model(args)
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
    quality = 90 if args.quality is None else args.quality
    if not 1 <= quality <= 100:
        raise InferError(f'--quality must be in 1..100, got {quality}.')
    if not mpi_dir.exists():
        raise FileNotFoundError(f'MPI folder {mpi_dir} not found.')
    if not mpi_dir.is_dir():
        raise InferError(f'{mpi_dir} is not a folder; pass the MPI frame '
                         'folder (src_image_0.png, mpi_rgb_XX.png, '
                         'mpi_alpha_XX.png).')
    check_output_file(mpi_dir, out, args.overwrite)
    model = load_model(args)
    result = embed_mpi(model, mpi_dir, out, quality=quality)
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
    model = load_model(args)
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


def warn_once(message: str, _said=set()) -> None:
    if message not in _said:
        _said.add(message)
        warn(message)


def make_inferencer(args) -> Inferencer:
    """The inferencer of an image command (tiling and image options)."""
    if getattr(args, 'tile', None) is not None and args.tile < 8:
        raise InferError(f'--tile must be at least 8 pixels, got '
                         f'{args.tile}.')
    if any(not 0 <= v <= 255 for v in args.background):
        raise InferError(f'--background takes three values in 0..255, got '
                         f'{" ".join(map(str, args.background))}.')
    return Inferencer(
        args.config, args.checkpoint, device=args.device, tile=args.tile,
        max_memory=args.max_memory, progress=not args.quiet,
        alpha=args.alpha, background=tuple(args.background))


def input_images(source: Path, output: Path, suffix: str = '.png'):
    """``(files, targets)``: every image of a folder, or one file; the
    output is a folder (``<name><suffix>`` per input) or, for one input
    file, the output file when it ends in ``suffix``."""
    if not source.exists():
        raise FileNotFoundError(f'input folder or image {source} not found.')
    if source.is_dir():
        files = [Path(p) for p in list_image_files(source)]
        check_unique_stems(files, suffix)
        return files, [output / (p.stem + suffix) for p in files]
    if output.suffix.lower() == suffix:
        return [source], [output]
    return [source], [output / (source.stem + suffix)]


def check_targets(source: Path, targets, overwrite: bool) -> None:
    """Refuse writing over the input (folder or file), and existing
    outputs unless --overwrite; create the output folder."""
    folder = targets[0].parent
    src_dir = source if source.is_dir() else source.parent
    if source.is_dir() and folder.exists() and \
            folder.resolve() == src_dir.resolve():
        raise InferError(f'output folder {folder} is the input folder; '
                         'choose another one (inputs are never overwritten).')
    for target in targets:
        if target.exists() and source.is_file() and \
                target.resolve() == source.resolve():
            raise InferError(f'output {target} is the input; choose another '
                             'path (inputs are never overwritten).')
    if not overwrite:
        existing = [t for t in targets if t.exists()]
        if existing:
            raise InferError(
                f'{existing[0]} already exists ({len(existing)} outputs '
                'exist); pass --overwrite or choose an empty folder.')


def check_sizes(files, scale: int, modcrop: bool) -> None:
    """Read every header first (a broken file stops the run before any
    output) and check the sizes against the scale."""
    for path in files:
        try:
            width, height = image_size(path)
        except (OSError, ValueError) as err:
            message = ' '.join(str(err).split())
            raise InferError(f'cannot read image {path} ({message}); remove '
                             'or fix it.') from None
        if scale <= 1:
            continue
        if min(height, width) < scale:
            raise InferError(
                f'{path} is {width}x{height} (width x height), smaller than '
                f'the scale {scale}; use an image of at least {scale}x{scale} '
                'pixels.')
        if (height % scale or width % scale) and not modcrop:
            raise InferError(
                f'{path} is {width}x{height} (width x height), not '
                f'divisible by the scale {scale}; crop it to '
                f'{width - width % scale}x{height - height % scale} or pass '
                '--modcrop.')


def write_png(array: np.ndarray, path: Path, text=None) -> None:
    """A PNG via a temporary file + rename (grey for one channel)."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    info = None
    if text:
        info = PngInfo()
        for key, value in text.items():
            info.add_text(key, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    write_file_atomic(path,
                      lambda f: image.save(f, format='PNG', pnginfo=info))


def describe_tiling(inferencer: Inferencer) -> str:
    if inferencer.last_tiling is None:
        return ''
    tile, halo, count = inferencer.last_tiling
    return f' ({count} tiles of {tile} px, halo {halo})'


def latent_kwargs(args) -> dict:
    kwargs = {}
    if args.zero_latent:
        kwargs['latent'] = 'zero'
    elif args.seed is not None:
        kwargs.update(latent='gaussian', seed=args.seed)
    if args.gaussian_scale is not None:
        kwargs['gaussian_scale'] = args.gaussian_scale
    return kwargs


def run_rescaling(args, inferencer: Inferencer) -> int:
    """``downscale`` / ``upscale`` / ``roundtrip``."""
    source, output = Path(args.input_dir), Path(args.output_dir)
    files, targets = input_images(source, output)
    model = inferencer.model
    scale = int(model.scale) if args.command != 'upscale' else 1
    check_sizes(files, scale, getattr(args, 'modcrop', False))
    extra = []
    if args.command == 'roundtrip':
        if not 1 <= args.quality <= 100:
            raise InferError(f'--quality must be in 1..100, got '
                             f'{args.quality}.')
        if args.keep_lr:
            extra = [t.with_name(t.stem + '_lr' + CODEC_SUFFIXES[args.codec])
                     for t in targets]
    check_targets(source, targets + extra, args.overwrite)
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    tiled = args.tile is not None or args.max_memory is not None
    bar = None if args.quiet or tiled or len(files) < 2 else ProgressBar(
        len(files), file=sys.stderr)
    rows = []
    for index, (path, target) in enumerate(zip(files, targets)):
        if tiled and not args.quiet:
            print(f'[{index + 1}/{len(files)}] {path.name}', file=sys.stderr)
        if args.command == 'downscale':
            out = inferencer.downscale(path, modcrop=args.modcrop)
        elif args.command == 'upscale':
            out = inferencer.upscale(path, **latent_kwargs(args))
        else:
            result = inferencer.roundtrip(
                path, args.codec, args.quality, modcrop=args.modcrop,
                **latent_kwargs(args))
            out = result.restored
            if extra:
                write_file_atomic(extra[index],
                                  lambda f: f.write(result.bitstream))
            rows.append((path.name, len(result.bitstream), result.bpp,
                         result.psnr, result.psnr_y))
        write_png(out, target)
        if bar is not None:
            bar.update()
        elif tiled and not args.quiet:
            print(f'  -> {target}{describe_tiling(inferencer)}',
                  file=sys.stderr)
    if bar is not None:
        sys.stderr.write('\n')
    if rows:
        print_roundtrip(rows, args, int(model.scale))
    where = targets[0] if len(targets) == 1 else output
    print(f'wrote {len(files)} image(s) to {where}')
    return 0


def print_roundtrip(rows, args, scale: int) -> None:
    width = max(len('image'), max(len(r[0]) for r in rows))
    print(f'{args.codec} quality {args.quality} on the x{scale} LR:')
    print(f'{"image":<{width}}  {"bytes":>9}  {"bpp":>6}  {"PSNR":>6}  '
          f'{"Y-PSNR":>6}')
    for name, num, bpp, psnr, psnr_y in rows:
        print(f'{name:<{width}}  {num:>9d}  {bpp:>6.3f}  {psnr:>6.2f}  '
              f'{psnr_y:>6.2f}')
    if len(rows) > 1:
        mean = [float(np.mean([r[i] for r in rows])) for i in (2, 3, 4)]
        print(f'{"mean":<{width}}  {"":>9}  {mean[0]:>6.3f}  {mean[1]:>6.2f}'
              f'  {mean[2]:>6.2f}')
    print('(PSNR on RGB; Y-PSNR on BT.601 Y with the scale cropped from '
          'each border, as the rescaling papers)')


# ---------------------------------------------------------------------------
# reversible conversion
# ---------------------------------------------------------------------------
def conversion_sources(args, model):
    """``(arrays or paths, names, fps, what)`` of the K images to embed."""
    k = int(model.num_images)
    source = Path(args.input_dir)
    start = args.start or 0
    if args.start is not None and args.start < 0:
        raise InferError(f'--start must be >= 0, got {args.start}.')
    if not source.exists():
        raise FileNotFoundError(f'input {source} not found.')
    if source.is_file():
        if not is_video_file(source):
            raise InferError(
                f'{source} is one file; embed takes a folder of the task\'s '
                f'{k} images, or a video file / GIF for video tasks.')
        if not model.takes_frames:
            raise InferError(
                f'{source} is a video; {type(model.task).__name__} embeds '
                f'{k} images, not video frames: pass a folder of them.')
        frames = read_video_frames(source, k, start)
        print(f'embedding frames {start}..{start + k - 1} of {source.name} '
              '(--start picks others)')
        return frames.images, frames.names, frames.fps, str(source)
    files = list_image_files(source, 'images')
    if len(files) < start + k:
        raise InferError(
            f'{source} has {len(files)} images; {type(model.task).__name__} '
            f'embeds {k}' + (f' from image {start}' if start else '') +
            f' (natural order: {", ".join(Path(f).name for f in files[:3])}'
            f'{", ..." if len(files) > 3 else ""}).')
    if len(files) > start + k or start:
        print(f'embedding images {start}..{start + k - 1} of {len(files)} '
              f'in natural order (--start picks others)')
    files = files[start:start + k]
    check_sizes([Path(f) for f in files], 1, False)
    return files, [Path(f).stem for f in files], None, str(source)


def run_conversion_embed(args, inferencer: Inferencer) -> int:
    from invtoolbox.apis.codec_inference import weights_fingerprint
    model = inferencer.model
    out = Path(args.output_dir)
    if out.suffix.lower() != '.png':
        raise InferError(f'{out}: embed writes a PNG (lossless: the '
                         'embedding must reach restore unchanged); name the '
                         'output .png.')
    if args.quality is not None:
        raise InferError('--quality applies to novel-view embed (a JPEG); '
                         'a reversible-conversion embedding is a PNG.')
    images, names, fps, what = conversion_sources(args, model)
    check_output_file(Path(args.input_dir), out, args.overwrite)
    embedding = inferencer.embed(images)
    meta = dict(task=repr(model.task), num_images=int(model.num_images),
                names=names, size=list(embedding.shape[:2]),
                fingerprint=weights_fingerprint(model.generator)[:8].hex())
    if fps:
        meta['fps'] = round(float(fps), 3)
    write_png(embedding, out, {EMBED_KEY: json.dumps(meta)})
    height, width = embedding.shape[:2]
    print(f'embedded {len(names)} images of {what} into {out} ({width}x'
          f'{height}, {embedding.shape[2]} channel(s))'
          f'{describe_tiling(inferencer)}')
    return 0


def read_embedding_meta(path: Path, model):
    """The text chunk embed wrote (None, after one warning, when the PNG
    has none or was made by other weights)."""
    from invtoolbox.apis.codec_inference import weights_fingerprint
    try:
        with Image.open(path) as img:
            text = img.info.get(EMBED_KEY)
    except (OSError, ValueError) as err:
        raise InferError(f'cannot read embedding {path} ({err}); pass the '
                         'PNG written by infer.py embed.') from None
    if text is None:
        warn(f'{path} carries no invtoolbox embedding record; restoring it '
             'anyway (the images are meaningful only if this model '
             'embedded it, losslessly).')
        return None
    try:
        meta = json.loads(text)
    except ValueError:
        warn(f'{path}: unreadable embedding record; ignoring it.')
        return None
    mine = weights_fingerprint(model.generator)[:8].hex()
    if meta.get('fingerprint') != mine or meta.get(
            'num_images') != int(model.num_images):
        warn(f'{path} was embedded by other weights or another task '
             f'({meta.get("task")}); its restored images are meaningless '
             'unless the weights are the same.')
    return meta


def run_conversion_restore(args, inferencer: Inferencer) -> int:
    model = inferencer.model
    src, out = Path(args.input_dir), Path(args.output_dir)
    if not src.exists():
        raise FileNotFoundError(f'embedding {src} not found.')
    if not src.is_file():
        raise InferError(f'{src} is not a file; pass the PNG written by '
                         'infer.py embed.')
    animation = out.suffix.lower() in ('.gif', '.mp4')
    if animation and not model.takes_frames:
        raise InferError(f'{out}: an animation holds video frames; '
                         f'{type(model.task).__name__} restores '
                         f'{model.num_images} images: name a folder.')
    if args.fps is not None and (not animation or not args.fps > 0):
        raise InferError('--fps must be positive and needs a .gif / .mp4 '
                         'output.')
    meta = read_embedding_meta(src, model)
    names = list(model.image_names)
    if meta and len(meta.get('names') or ()) == len(names):
        names = [str(n) for n in meta['names']]
    if animation:
        check_output_file(src, out, args.overwrite)
    else:
        targets = [out / (name + '.png') for name in names]
        if len(set(targets)) != len(targets):
            targets = [out / f'{i:02d}_{name}.png'
                       for i, name in enumerate(names)]
        check_targets(src, targets, args.overwrite)
    width, height = image_size(src)
    s = int(model.conversion_scale)
    restored = inferencer.restore(src)
    if animation:
        fps = args.fps or (meta or {}).get('fps') or DEFAULT_RESTORE_FPS
        write_frames(restored, out, float(fps))
        print(f'restored {len(restored)} frames ({width * s}x{height * s}) '
              f'to {out}{describe_tiling(inferencer)}')
        return 0
    for image, target in zip(restored, targets):
        write_png(image, target)
    print(f'restored {len(restored)} image(s) ({width * s}x{height * s}) to '
          f'{out}{describe_tiling(inferencer)}')
    return 0


# ---------------------------------------------------------------------------
# dispatch by capability
# ---------------------------------------------------------------------------
def run(args) -> int:
    config, _ = resolve_run_files(args.config, None)
    model_class = config_model_class(config)
    capability = capability_of(model_class) if isinstance(
        model_class, type) else None
    command = args.command
    if capability == 'novel_view' and command in ('embed', 'render'):
        if command == 'embed' and (args.tile is not None or
                                   args.max_memory is not None or
                                   args.start is not None):
            raise InferError('--tile, --max-memory and --start apply to '
                             'reversible-conversion embed; a novel-view '
                             'model embeds one MPI folder whole (its encoder '
                             'and the JPEG are not tiled).')
        return run_embed(args) if command == 'embed' else \
            run_novel_view_render(args)
    if capability == 'isp' and command in ('render', 'recover'):
        return run_isp(args)
    if capability is not None:
        from invtoolbox.apis.inferencer import CAPABILITY_COMMANDS
        if command not in CAPABILITY_COMMANDS.get(capability, ()):
            name = getattr(model_class, '__name__', 'a model')
            offered = ', '.join(CAPABILITY_COMMANDS[capability]) or \
                'no infer.py command'
            serving = [describe_capability(cap) for cap, cmds in
                       CAPABILITY_COMMANDS.items() if command in cmds]
            raise InferError(
                f'{command} serves {" and ".join(serving)}; the config '
                f'builds {name}, {describe_capability(capability)}, which '
                f'offers: {offered}.')
    if command in ('render', 'recover'):  # a model class we cannot tell
        return run_isp(args)
    inferencer = make_inferencer(args)
    inferencer.require(command)
    if command == 'embed':
        return run_conversion_embed(args, inferencer)
    if command == 'restore':
        return run_conversion_restore(args, inferencer)
    return run_rescaling(args, inferencer)


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
