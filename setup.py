# Copyright (c) invtoolbox contributors. All rights reserved.
"""Setup script; metadata lives in setup.cfg, requirements in requirements/."""
import os.path as osp

from setuptools import setup

HERE = osp.dirname(osp.abspath(__file__))


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
        install_requires=parse_requirements('requirements/runtime.txt'),
        extras_require={
            'tests': parse_requirements('requirements/tests.txt'),
            'tb': ['tensorboard'],
            'optional': parse_requirements('requirements/optional.txt'),
            'all': parse_requirements('requirements.txt'),
        })
