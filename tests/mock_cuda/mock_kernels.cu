/*
 * mock_kernels.cu — for fsd_mock_runtime_kernels: every kernel instantiation that
 * kernels/launch.cu and kernels/gather_launch.cu can launch, keyed by its mangled name (the
 * name their host stubs register with __cudaRegisterFunction), with what the mock needs to run
 * a launch of it (mk_kernel, mock_internal.h): the size of its one parameter; its __global__
 * wrapper's loops on the emulated grid (tests/kernels/emulated_steps.cuh), run over the
 * parameter the launch passed, read as the type the kernel declares; and, for the kernels of
 * plans, the parameter launch.cu must build for a plan (kernel_args.cuh), so that
 * mock_kernel_api.c can compare them byte for byte.
 *
 * The names are written from the template arguments by the Itanium C++ ABI's mangling rules,
 * which g++ and nvcc follow: _Z <length> <name> I <template arguments> E, where a type is its
 * code (j unsigned int, m unsigned long, h unsigned char, t unsigned short, 5uint4 ...) and a
 * value L <type> <number> E (n for a minus sign). test_errors_mock checks that every kernel
 * the real objects register is found here.
 */
#include <stdio.h>
#include <string.h>

#include <string>
#include <type_traits>
#include <vector>

#include "emulated_steps.cuh"
#include "mock_internal.h"

namespace {

static_assert(std::is_same<uint64_t, unsigned long>::value, "uint64_t mangles as unsigned long (m)");

template <typename T> struct type_code;
template <> struct type_code<uint8_t> { static constexpr const char *s = "h"; };
template <> struct type_code<uint16_t> { static constexpr const char *s = "t"; };
template <> struct type_code<uint32_t> { static constexpr const char *s = "j"; };
template <> struct type_code<uint64_t> { static constexpr const char *s = "m"; };
template <> struct type_code<uint2> { static constexpr const char *s = "5uint2"; };
template <> struct type_code<uint4> { static constexpr const char *s = "5uint4"; };

/* A template argument that is a value: an int (Li4E, Lin1E) or an unsigned int (Lj16E). */
std::string int_arg(int v)
{
    return v < 0 ? "Lin" + std::to_string(-v) + "E" : "Li" + std::to_string(v) + "E";
}

std::string uint_arg(uint32_t v)
{
    return "Lj" + std::to_string(v) + "E";
}

template <typename T>
std::string type_arg()
{
    return type_code<T>::s;
}

void add(std::vector<mk_kernel> &t, const char *fn, const std::string &targs, size_t args_bytes,
         void (*run)(const void *, uint32_t, uint32_t), void (*args_of)(const fsd_plan *, void *))
{
    const std::string name = "_Z" + std::to_string(strlen(fn)) + fn + "I" + targs + "E";
    mk_kernel k = {};
    if (name.size() >= sizeof k.name)
        abort();
    memcpy(k.name, name.c_str(), name.size() + 1);
    k.args_bytes = args_bytes;
    k.run = run;
    k.args_of = args_of;
    t.push_back(k);
}

/* The parameter, read as the kernel declares it (the launch passed its bytes by address). */
template <typename A>
A param(const void *args)
{
    static_assert(std::is_trivially_copyable<A>::value, "a kernel parameter is copied bytewise");
    A a;
    memcpy(&a, args, sizeof a);
    return a;
}

/* The parameter launch.cu builds for a plan. No padding in it, so that two built from the
 * same plan are equal byte for byte. */
template <typename A>
void put(const A &a, void *out)
{
    static_assert(std::has_unique_object_representations<A>::value,
                  "no padding: launch.cu's parameter is compared byte for byte");
    memcpy(out, &a, sizeof a);
}

template <int D>
void runs_args_of(const fsd_plan *p, void *out)
{
    put(fsd_runs_args_of<D>(*p), out);
}

template <int D>
void transpose_args_of(const fsd_plan *p, void *out)
{
    put(fsd_transpose_args_of<D>(*p), out);
}

template <int NDIM, typename I, int D>
void run_runs(const void *args, uint32_t grid, uint32_t block)
{
    fsdt_grid_runs<NDIM, I, D>(param<fsd_runs_args<D>>(args), grid, block);
}

template <typename I, int D>
void run_transpose(const void *args, uint32_t grid, uint32_t block)
{
    fsdt_grid_transpose<I, D>(param<fsd_transpose_args<D>>(args), grid, block);
}

template <uint32_t E, typename I, int D>
void run_transpose16(const void *args, uint32_t grid, uint32_t block)
{
    fsdt_grid_transpose16<E, I, D>(param<fsd_transpose_args<D>>(args), grid, block);
}

template <int T, uint32_t W, typename I, int D>
void run_checksum(const void *args, uint32_t grid, uint32_t block)
{
    fsdt_grid_checksum<T, W, I, D>(param<fsd_cs_args<D>>(args), grid, block);
}

template <typename T, int LW, int NDIM, typename I>
void run_gather(const void *args, uint32_t grid, uint32_t block)
{
    fsdt_grid_gather<T, LW, NDIM, I>(param<fsd_gather_plan>(args), grid, block);
}

/* fsd_runs_kernel<NDIM, I, D>, fsd_transpose_kernel<I, D>, fsd_transpose16_kernel<E, I, D>,
 * fsd_gather_kernel<T, LW, NDIM, I>, fsd_cs_kernel<W, I, D>, fsd_cst_kernel<E, I, D>. */
template <int NDIM, typename I, int D>
void add_runs(std::vector<mk_kernel> &t)
{
    add(t, "fsd_runs_kernel", int_arg(NDIM) + type_arg<I>() + int_arg(D), sizeof(fsd_runs_args<D>),
        run_runs<NDIM, I, D>, runs_args_of<D>);
}

template <typename I, int D>
void add_transposes(std::vector<mk_kernel> &t)
{
    const std::string rest = type_arg<I>() + int_arg(D);
    const size_t bytes = sizeof(fsd_transpose_args<D>);
    add(t, "fsd_transpose_kernel", rest, bytes, run_transpose<I, D>, transpose_args_of<D>);
    add(t, "fsd_transpose16_kernel", uint_arg(1) + rest, bytes, run_transpose16<1, I, D>, transpose_args_of<D>);
    add(t, "fsd_transpose16_kernel", uint_arg(2) + rest, bytes, run_transpose16<2, I, D>, transpose_args_of<D>);
    add(t, "fsd_transpose16_kernel", uint_arg(4) + rest, bytes, run_transpose16<4, I, D>, transpose_args_of<D>);
    add(t, "fsd_transpose16_kernel", uint_arg(8) + rest, bytes, run_transpose16<8, I, D>, transpose_args_of<D>);
    add(t, "fsd_transpose16_kernel", uint_arg(16) + rest, bytes, run_transpose16<16, I, D>, transpose_args_of<D>);
}

/* fsd_cs_kernel<W, I, D> and fsd_cst_kernel<E, I, D> (checksum_launch.cu). Its parameter carries the destination of S as
 * well as the plan's fields, so it is not compared with one built from the plan (args_of NULL). */
template <typename I, int D>
void add_checksum(std::vector<mk_kernel> &t)
{
    const std::string rest = type_arg<I>() + int_arg(D);
    const size_t bytes = sizeof(fsd_cs_args<D>);
    add(t, "fsd_cs_kernel", uint_arg(16) + rest, bytes, run_checksum<0, 16, I, D>, nullptr);
    add(t, "fsd_cs_kernel", uint_arg(8) + rest, bytes, run_checksum<0, 8, I, D>, nullptr);
    add(t, "fsd_cs_kernel", uint_arg(4) + rest, bytes, run_checksum<0, 4, I, D>, nullptr);
    add(t, "fsd_cs_kernel", uint_arg(2) + rest, bytes, run_checksum<0, 2, I, D>, nullptr);
    add(t, "fsd_cs_kernel", uint_arg(1) + rest, bytes, run_checksum<0, 1, I, D>, nullptr);
    if (D == 16)
        return; /* the transpose tiles: D 4 or 64 */
    add(t, "fsd_cst_kernel", uint_arg(16) + rest, bytes, run_checksum<1, 16, I, D>, nullptr);
    add(t, "fsd_cst_kernel", uint_arg(8) + rest, bytes, run_checksum<1, 8, I, D>, nullptr);
    add(t, "fsd_cst_kernel", uint_arg(4) + rest, bytes, run_checksum<1, 4, I, D>, nullptr);
    add(t, "fsd_cst_kernel", uint_arg(2) + rest, bytes, run_checksum<1, 2, I, D>, nullptr);
    add(t, "fsd_cst_kernel", uint_arg(1) + rest, bytes, run_checksum<1, 1, I, D>, nullptr);
}

template <typename T, int LW, int NDIM, typename I>
void add_gather(std::vector<mk_kernel> &t)
{
    add(t, "fsd_gather_kernel", type_arg<T>() + int_arg(LW) + int_arg(NDIM) + type_arg<I>(),
        sizeof(fsd_gather_plan), run_gather<T, LW, NDIM, I>, nullptr);
}

template <typename I>
void add_index(std::vector<mk_kernel> &t)
{
    add_runs<1, I, FSD_RUNS_MAX_DIMS>(t);
    add_runs<2, I, FSD_RUNS_MAX_DIMS>(t);
    add_runs<3, I, FSD_RUNS_MAX_DIMS>(t);
    add_runs<4, I, FSD_RUNS_MAX_DIMS>(t);
    add_runs<-1, I, 16>(t);
    add_runs<-1, I, FSD_PLAN_MAX_DIMS>(t);
    add_transposes<I, 4>(t);
    add_transposes<I, FSD_PLAN_MAX_DIMS>(t);
    add_checksum<I, 4>(t);
    add_checksum<I, 16>(t);
    add_checksum<I, FSD_PLAN_MAX_DIMS>(t);
    add_gather<uint4, FSD_GATHER_INFLIGHT, FSD_GATHER_UNROLLED_DIMS, I>(t);
    add_gather<uint4, FSD_GATHER_INFLIGHT, -1, I>(t);
    add_gather<uint4, 2, FSD_GATHER_UNROLLED_DIMS, I>(t);
    add_gather<uint4, 2, -1, I>(t);
    add_gather<uint4, 1, FSD_GATHER_UNROLLED_DIMS, I>(t);
    add_gather<uint4, 1, -1, I>(t);
    add_gather<uint2, 1, -1, I>(t);
    add_gather<uint32_t, 1, -1, I>(t);
    add_gather<uint16_t, 1, -1, I>(t);
    add_gather<uint8_t, 1, -1, I>(t);
}

const std::vector<mk_kernel> &table()
{
    static const std::vector<mk_kernel> t = [] {
        std::vector<mk_kernel> v;
        add_index<uint32_t>(v);
        add_index<uint64_t>(v);
        return v;
    }();
    return t;
}

} // namespace

extern "C" const mk_kernel *mk_kernel_by_name(const char *mangled)
{
    for (const mk_kernel &k : table()) {
        const size_t n = strlen(k.name);
        if (strncmp(mangled, k.name, n) == 0 && mangled[n] == 'v') /* void (parameters) */
            return &k;
    }
    return nullptr;
}
