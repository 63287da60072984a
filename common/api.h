/**
 * @file
 * RS_API marks a function or variable as part of librockstream's public
 * surface. The library is meant to be built with -fvisibility=hidden, so
 * only what carries RS_API is exported from librockstream.so: an
 * application that embeds the library cannot collide with its internals.
 */
#ifndef RS_COMMON_API_H
#define RS_COMMON_API_H

/** Exports a declaration from librockstream.so. */
#define RS_API __attribute__((visibility("default")))

#endif
