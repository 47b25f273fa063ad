#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# a complete, passing run: nothing to flag
echo 1..2; echo "ok 1 a"; echo "ok 2 b"
