// The floor: the least a worker can do. Every request gets the same fixed 200, so its
// numbers are what workerd, the socket and the load generator cost on this machine.
export default {
  fetch() {
    return new Response("ok");
  },
};
