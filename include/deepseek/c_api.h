/* deepseek/c_api.h: the stable C ABI of the deepseek library (C99). */
#ifndef DEEPSEEK_C_API_H_
#define DEEPSEEK_C_API_H_

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when an existing signature or struct layout changes incompatibly. */
#define DS_ABI_VERSION 1

/* The library version as "MAJOR.MINOR.PATCH"; a static string, never freed. */
const char* ds_version(void);

#ifdef __cplusplus
}
#endif

#endif /* DEEPSEEK_C_API_H_ */
