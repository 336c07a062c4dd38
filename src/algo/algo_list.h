/*
 * The list of algorithms, one line each, in the order the API and the UI
 * show them. Adding an algorithm is one file in src/algo/ that defines
 * `const struct algo algo_NAME` plus one line here.
 * SPDX-License-Identifier: MIT
 */
ALGO(grayscale)
ALGO(sobel)
ALGO(blur)
