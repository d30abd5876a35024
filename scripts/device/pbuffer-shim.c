/*
 * libGL.so.1 shim for headless-gl (ANGLE's GLX back end) on an X server whose GLX vendor library
 * cannot make pbuffers (the NVIDIA GLX client on Xvfb: the workplace notes say only GLX windows
 * ran on the GPU there). ANGLE dlopens "libGL.so.1" and takes every GLX entry point from
 * glXGetProcAddress; this library answers glXGetProcAddress(ARB) for glXCreatePbuffer /
 * glXDestroyPbuffer with versions that back each "pbuffer" by an override-redirect X window of the
 * requested size and a GLXWindow on it, and forwards everything else to the real libGL named by
 * DEVBUNDLE_REAL_LIBGL (an absolute path; run.sh sets it). Built by pack.sh into
 * xroot/shim/libGL.so.1; run.sh puts that folder first on LD_LIBRARY_PATH only when pbuffers fail.
 * Environment: DEVBUNDLE_PBUFFER_MAP=0 leaves the windows unmapped; DEVBUNDLE_SHIM_DEBUG=1 logs.
 * WebGL results go through framebuffer objects, so the window's own pixels do not matter.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <GL/glx.h>

typedef void (*Proc)(void);
typedef Proc (*GetProcFn)(const GLubyte *);
typedef GLXPbuffer (*CreatePbufferFn)(Display *, GLXFBConfig, const int *);
typedef void (*DestroyPbufferFn)(Display *, GLXPbuffer);
typedef GLXWindow (*CreateWindowFn)(Display *, GLXFBConfig, Window, const int *);
typedef void (*DestroyWindowFn)(Display *, GLXWindow);
typedef XVisualInfo *(*VisualFromConfigFn)(Display *, GLXFBConfig);

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static GetProcFn realGetProc;
static CreatePbufferFn realCreatePbuffer;
static DestroyPbufferFn realDestroyPbuffer;
static CreateWindowFn realCreateWindow;
static DestroyWindowFn realDestroyWindow;
static VisualFromConfigFn realVisualFromConfig;
static int debug, mapWindows = 1;

struct Backing { Display *dpy; GLXWindow glxWin; Window win; Colormap cmap; struct Backing *next; };
static struct Backing *backings;

static void load(void) {
  const char *path = getenv("DEVBUNDLE_REAL_LIBGL");
  debug = getenv("DEVBUNDLE_SHIM_DEBUG") && atoi(getenv("DEVBUNDLE_SHIM_DEBUG"));
  if (getenv("DEVBUNDLE_PBUFFER_MAP") && !atoi(getenv("DEVBUNDLE_PBUFFER_MAP"))) mapWindows = 0;
  if (!path || path[0] != '/') { fprintf(stderr, "pbuffer-shim: DEVBUNDLE_REAL_LIBGL must be the absolute path of the real libGL.so.1\n"); return; }
  void *h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (!h) { fprintf(stderr, "pbuffer-shim: %s\n", dlerror()); return; }
  realGetProc = (GetProcFn)dlsym(h, "glXGetProcAddress");
  if (!realGetProc) realGetProc = (GetProcFn)dlsym(h, "glXGetProcAddressARB");
  if (!realGetProc) { fprintf(stderr, "pbuffer-shim: no glXGetProcAddress in %s\n", path); return; }
  realCreatePbuffer = (CreatePbufferFn)realGetProc((const GLubyte *)"glXCreatePbuffer");
  realDestroyPbuffer = (DestroyPbufferFn)realGetProc((const GLubyte *)"glXDestroyPbuffer");
  realCreateWindow = (CreateWindowFn)realGetProc((const GLubyte *)"glXCreateWindow");
  realDestroyWindow = (DestroyWindowFn)realGetProc((const GLubyte *)"glXDestroyWindow");
  realVisualFromConfig = (VisualFromConfigFn)realGetProc((const GLubyte *)"glXGetVisualFromFBConfig");
  if (debug) fprintf(stderr, "pbuffer-shim: forwarding to %s (windows %s)\n", path, mapWindows ? "mapped" : "unmapped");
}

GLXPbuffer glXCreatePbuffer(Display *dpy, GLXFBConfig config, const int *attribs) {
  pthread_once(&once, load);
  int w = 1, h = 1;
  for (const int *a = attribs; a && a[0] != None; a += 2) {
    if (a[0] == GLX_PBUFFER_WIDTH) w = a[1];
    else if (a[0] == GLX_PBUFFER_HEIGHT) h = a[1];
  }
  if (w < 1) w = 1;
  if (h < 1) h = 1;
  XVisualInfo *vi = realVisualFromConfig ? realVisualFromConfig(dpy, config) : NULL;
  if (!vi || !realCreateWindow) {
    if (debug) fprintf(stderr, "pbuffer-shim: no visual for the config; real pbuffer %dx%d\n", w, h);
    if (vi) XFree(vi);
    return realCreatePbuffer ? realCreatePbuffer(dpy, config, attribs) : 0;
  }
  Window root = RootWindow(dpy, vi->screen);
  XSetWindowAttributes swa;
  memset(&swa, 0, sizeof swa);
  swa.colormap = XCreateColormap(dpy, root, vi->visual, AllocNone);
  swa.override_redirect = True;
  swa.border_pixel = 0;
  swa.background_pixmap = None;
  Window win = XCreateWindow(dpy, root, 0, 0, (unsigned)w, (unsigned)h, 0, vi->depth, InputOutput, vi->visual,
                             CWColormap | CWOverrideRedirect | CWBorderPixel | CWBackPixmap, &swa);
  XFree(vi);
  if (mapWindows) XMapWindow(dpy, win);
  GLXWindow gw = realCreateWindow(dpy, config, win, NULL);
  XSync(dpy, False);
  if (!gw) {
    XDestroyWindow(dpy, win);
    XFreeColormap(dpy, swa.colormap);
    if (debug) fprintf(stderr, "pbuffer-shim: glXCreateWindow failed; real pbuffer %dx%d\n", w, h);
    return realCreatePbuffer ? realCreatePbuffer(dpy, config, attribs) : 0;
  }
  struct Backing *b = malloc(sizeof *b);
  if (b) {
    *b = (struct Backing){ dpy, gw, win, swa.colormap, NULL };
    pthread_mutex_lock(&mu);
    b->next = backings;
    backings = b;
    pthread_mutex_unlock(&mu);
  }
  if (debug) fprintf(stderr, "pbuffer-shim: pbuffer %dx%d -> window 0x%lx\n", w, h, (unsigned long)win);
  return (GLXPbuffer)gw;
}

void glXDestroyPbuffer(Display *dpy, GLXPbuffer pbuf) {
  pthread_once(&once, load);
  pthread_mutex_lock(&mu);
  struct Backing **p = &backings, *b = NULL;
  for (; *p; p = &(*p)->next)
    if ((*p)->dpy == dpy && (*p)->glxWin == (GLXWindow)pbuf) { b = *p; *p = b->next; break; }
  pthread_mutex_unlock(&mu);
  if (!b) { if (realDestroyPbuffer) realDestroyPbuffer(dpy, pbuf); return; }
  if (realDestroyWindow) realDestroyWindow(dpy, b->glxWin);
  XDestroyWindow(dpy, b->win);
  XFreeColormap(dpy, b->cmap);
  free(b);
}

static Proc getProc(const GLubyte *name) {
  pthread_once(&once, load);
  if (!strcmp((const char *)name, "glXCreatePbuffer")) return (Proc)glXCreatePbuffer;
  if (!strcmp((const char *)name, "glXDestroyPbuffer")) return (Proc)glXDestroyPbuffer;
  return realGetProc ? realGetProc(name) : NULL;
}

Proc glXGetProcAddress(const GLubyte *name) { return getProc(name); }
Proc glXGetProcAddressARB(const GLubyte *name) { return getProc(name); }
