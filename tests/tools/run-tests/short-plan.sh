#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# fewer results than planned, exit 0
echo 1..3; echo "ok 1 a"; echo "ok 2 b"
