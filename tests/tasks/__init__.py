# Copyright (c) invtoolbox contributors. All rights reserved.
