# The zmq pools' message decoder (dtx/zgw.h): a service's reply frames are
# untrusted input to the gateway, a request's to libdtx's zsvc helper.
FUZZ_TARGETS += zgw
FUZZ_SRC_zgw   := common/src/zgw.c tests/fuzz/fuzz_zgw.c
