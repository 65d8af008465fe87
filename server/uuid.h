/*
 * Random (version 4) UUIDs, the ids of VMs and snapshots. Any thread.
 */
#ifndef PINVM_SERVER_UUID_H
#define PINVM_SERVER_UUID_H

#define UUID_LEN 36 /* characters, without the NUL */

/* A new random UUID, lower-case hex with dashes, NUL-terminated. From the
 * kernel's randomness; should it fail, rand() (ids need to be unique, not
 * secret). */
void uuid_v4(char out[UUID_LEN + 1]);

#endif
