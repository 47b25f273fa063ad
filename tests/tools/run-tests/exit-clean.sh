#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# all passed, exit 3
echo 1..1; echo "ok 1 a"; exit 3
