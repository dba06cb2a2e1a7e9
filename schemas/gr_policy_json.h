/**
 * @file gr_policy_json.h
 * @brief The policy file's codec: JSON text over the defaults of
 *        gr_policy.h.  The caller reads the file and hands over the bytes;
 *        the SHA-256 of exactly those bytes becomes the policy's hash.
 */
#ifndef GR_POLICY_JSON_H
#define GR_POLICY_JSON_H

#include <stddef.h>

#include "gr_policy.h"

/**
 * @brief Parse policy JSON over the defaults.
 * @returns 0 on success; -1 with a message in errstr (p unchanged).
 */
int gr_policy_load(gr_policy *p, const char *json, size_t len, char *errstr,
                   size_t errstr_size);

#endif
