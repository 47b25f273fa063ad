#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# a failure, then exit 2 before the plan is done
echo 1..3; echo "ok 1 a"; echo "not ok 2 b"; exit 2
