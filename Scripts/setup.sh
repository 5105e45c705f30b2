#!/usr/bin/env bash
# Installs what AutoMix needs on a fresh Debian 12 machine (as root, or with sudo) and unpacks the bundled
# Fashion-MNIST ImageFolder into Datasets/fashion_mnist/. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
for p in libopenblas-dev libturbojpeg0-dev libpng-dev pkgconf g++; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}"
fi
if [ ! -d Datasets/fashion_mnist/val ]; then
  tar xzf Datasets/fashion_mnist_imagefolder.tar.gz -C Datasets
fi
