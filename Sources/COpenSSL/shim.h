#ifndef HEARSAY_COPENSSL_SHIM_H
#define HEARSAY_COPENSSL_SHIM_H
/* HMAC and key ids use libcrypto's SHA-256 functions directly (deprecated in OpenSSL 3,
   still shipped): they need none of the provider tables that the EVP interfaces load on
   first use, which cost an agent about 2 MB resident. EVP stays for AES-256-GCM, so only
   an agent that encrypts pays for it. docs/benchmarks.md has the figures. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <sys/random.h>
#endif
