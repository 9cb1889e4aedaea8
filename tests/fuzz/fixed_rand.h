/*
 * A fixed "random" source for OpenSSL, for the probe's fuzz target and its seed capture only:
 * every request for random bytes gets 01 02 03 ..., so a TLS client says exactly the same
 * ClientHello (random, session id, key share) in every run. A server's reply recorded once
 * (probe_capture.c) then completes the handshake when it is played back, and the fuzzer
 * reaches what the probe does after it. As OpenSSL's own fuzz/fuzz_rand.c. Never link it
 * into rekey.
 */
#ifndef REKEY_FUZZ_FIXED_RAND_H
#define REKEY_FUZZ_FIXED_RAND_H

/* Makes OpenSSL's default context use the fixed source. Must come before OpenSSL draws its
 * first random byte; exits when OpenSSL refuses. Idempotent. */
void	rk_fuzz_fixed_rand_install(void);

#endif
