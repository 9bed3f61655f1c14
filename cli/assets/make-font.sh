#!/bin/sh
# Makes DejaVuSans-subset.ttf, the font zl's figures are drawn with when ZL_FONT is not set
# (render/plot.rs embeds it). Input: DejaVu Sans 2.37 as Debian's fonts-dejavu-core installs it;
# tool: fontTools' pyftsubset (pip install fonttools; made with fonttools 4.68.0).
#
# The glyphs: Basic Latin, Latin-1 and Latin Extended-A, Greek, Cyrillic (vocabulary characters
# along the heatmaps' axes and under the bar charts), general punctuation, super- and
# subscripts, arrows and mathematical operators (titles and labels: Σ ‖ → − · …), and the
# stand-ins heatmap::glyph draws for a space (␣ U+2423), a newline (↵) and a tab (⇥).
# No hinting and no layout tables: ab_glyph uses neither. The licence, which allows embedding
# and subsetting, is DejaVuSans-LICENSE.txt beside this script.
set -eu
src=${1:-/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf}
cd "$(dirname "$0")"
pyftsubset "$src" \
    --unicodes='U+0020-007E,U+00A0-017F,U+0370-03FF,U+0400-04FF,U+2000-206F,U+2070-209F,U+2190-21FF,U+2200-22FF,U+2423' \
    --layout-features='' --no-hinting --desubroutinize --drop-tables+=FFTM \
    --output-file=DejaVuSans-subset.ttf
ls -l DejaVuSans-subset.ttf
