# Copyright (c) invtoolbox contributors. All rights reserved.
"""Setup script; metadata lives in setup.cfg, requirements in requirements/.

A built package (wheel, or a non-editable install) carries the configs under
``invtoolbox/.mim/configs/``, as MMagic's ``add_mim_extension`` does for
``mmagic/.mim``, so ``invtoolbox.utils.config_finder.find_config`` (and the
official-checkpoint converters, which read the configs) work without the
repository. A source checkout or an editable install reads ``configs/`` in
place.
"""
import os
import os.path as osp
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))

#: repository folders copied into the package's ``.mim`` folder, with the
#: file suffixes they keep (the same set MANIFEST.in puts in an sdist)
MIM_FOLDERS = {'configs': ('.py', '.md', '.yml')}


class BuildPyWithMim(build_py):
    """``build_py`` that also copies :data:`MIM_FOLDERS` into
    ``invtoolbox/.mim/`` of the build directory (never into the sources)."""

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return  # an editable install reads the repository itself
        for folder, suffixes in MIM_FOLDERS.items():
            src_root = osp.join(HERE, folder)
            if not osp.isdir(src_root):
                continue
            dst_root = osp.join(self.build_lib, 'invtoolbox', '.mim', folder)
            for dirpath, dirnames, filenames in os.walk(src_root):
                dirnames[:] = sorted(d for d in dirnames
                                     if d != '__pycache__')
                for name in sorted(filenames):
                    if not name.endswith(suffixes):
                        continue
                    src = osp.join(dirpath, name)
                    dst = osp.join(dst_root, osp.relpath(src, src_root))
                    os.makedirs(osp.dirname(dst), exist_ok=True)
                    shutil.copyfile(src, dst)


def parse_requirements(fname):
    """Read one requirements file, following ``-r other.txt`` includes."""
    path = osp.join(HERE, fname)
    reqs = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            if line.startswith('-r '):
                reqs += parse_requirements(
                    osp.join(osp.dirname(fname), line[3:].strip()))
            else:
                reqs.append(line)
    return reqs


if __name__ == '__main__':
    setup(
        cmdclass={'build_py': BuildPyWithMim},
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'tb': ['tensorboard'],
            'optional': parse_requirements('requirements/optional.txt'),
            'all': parse_requirements('requirements.txt'),
        })
