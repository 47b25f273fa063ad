#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# a failure, then a crash part way: signal and short plan
echo 1..3; echo "ok 1 a"; echo "not ok 2 b"; kill -SEGV $$
