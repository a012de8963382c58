#!/usr/bin/env bash
echo "run-cluster: not implemented yet"
