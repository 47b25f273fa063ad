#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# a failure reported, plan complete, exit 1: the failure is all
echo 1..2; echo "ok 1 a"; echo "not ok 2 b"; exit 1
