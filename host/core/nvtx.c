/* nvtx.c — the "fastserde" NVTX domain and its registered range names (see nvtx.h): made
 * once per process (pthread_once) and never changed after, like NCCL's. */
#if defined(FSD_NVTX)
#include <pthread.h>

#include <nvtx3/nvToolsExt.h>
#include <nvtx3/nvToolsExtCudaRt.h>

#include "nvtx.h"

static const char *const NAMES[FSD_NVTX_NAME_COUNT] = {
    "fsd_pack", "fsd_unpack", "chunk kernel", "chunk D2H", "chunk H2D", "chunk host copy",
    "chunk wait", "fsd_gather", "fsd_scatter", "frame hash",
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static nvtxDomainHandle_t domain;
static nvtxStringHandle_t strings[FSD_NVTX_NAME_COUNT];

static void init(void)
{
    domain = nvtxDomainCreateA("fastserde");
    for (int i = 0; i < FSD_NVTX_NAME_COUNT; i++)
        strings[i] = nvtxDomainRegisterStringA(domain, NAMES[i]);
}

void fsd_nvtx_push(fsd_nvtx_name name, uint64_t bytes)
{
    pthread_once(&once, init);
    nvtxEventAttributes_t a = {0};
    a.version = NVTX_VERSION;
    a.size = NVTX_EVENT_ATTRIB_STRUCT_SIZE;
    a.messageType = NVTX_MESSAGE_TYPE_REGISTERED;
    a.message.registered = strings[name];
    a.payloadType = NVTX_PAYLOAD_TYPE_UNSIGNED_INT64;
    a.payload.ullValue = bytes;
    nvtxDomainRangePushEx(domain, &a);
}

void fsd_nvtx_pop(void)
{
    pthread_once(&once, init);
    nvtxDomainRangePop(domain);
}

void fsd_nvtx_name_stream(cudaStream_t stream, const char *name)
{
    nvtxNameCudaStreamA(stream, name);
}
#else
typedef int fsd_nvtx_disabled; /* an empty translation unit is not ISO C */
#endif
