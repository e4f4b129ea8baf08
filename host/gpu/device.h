/*
 * device.h — a CUDA device made current for the length of a call, and the caller's device put
 * back afterwards: every entry point that touches a GPU goes through this pair.
 */
#ifndef FSD_DEVICE_H
#define FSD_DEVICE_H

#include "fastserde.h"

/* Saves the current device in *prev and makes `device` current. */
fsd_status fsd_device_enter(int device, int *prev);

/* Makes `prev` (from fsd_device_enter) current again. */
void fsd_device_leave(int device, int prev);

#endif
