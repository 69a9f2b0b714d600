# Copyright: (c) 2026, containerops.fleet contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment:
    # The service definition (one entry of fleet_services), documented once.  Its types, choices and defaults
    # are defined once in plugins/module_utils/service/schema.py; a unit test keeps this text in step with it.
    DOCUMENTATION = r"""
options:
  name:
    description:
      - Service name, 1-41 lowercase letters, digits or dashes.
      - Containers are named C(<name>-<replica>-<spec hash>).
    type: str
    required: true
  image:
    description:
      - Image reference. The service role puts it on the hosts first (O(build), O(archive) or O(pull)); this module
        itself never pulls, so the image must be on the host when it runs.
    type: str
  pull:
    description:
      - How the service role puts O(image) on each host when there is no O(build) or O(archive) (not used by
        C(containerops.fleet.container_service) itself, which never pulls).
      - V(missing) pulls where the host lacks the reference, V(always) asks the registry every run (a new image
        ID rolls the replicas), V(never) requires the image to be there already.
      - An image that cannot be had fails the run before any running replica is touched.
    type: str
    choices: [missing, always, never]
    default: missing
  build:
    description:
      - Build O(image) from a context on the controller, once, on the build host (the service role's
        C(service_build_host), default the first container host); the other hosts load it where its image ID is
        missing, without a registry. A changed context or input rebuilds and rolls the replicas.
    type: dict
    suboptions:
      context:
        description: Context directory on the controller; relative to the inventory's directory.
        type: str
        required: true
      dockerfile:
        description: Dockerfile path relative to the context; default C(Dockerfile).
        type: str
      args:
        description: Build arguments (C(ARG)).
        type: dict
      target:
        description: Build stage to stop at.
        type: str
      push:
        description: Also push the built image to the registry named in O(image), with O(registry_auth).
        type: bool
        default: false
  archive:
    description: A C(docker save) archive of O(image) on the controller, loaded where the image ID is missing.
    type: str
  replicas:
    description:
      - Number of replicas. In a service definition, the total across the hosts; given to
        C(containerops.fleet.container_service) with O(platform=docker), this host's share.
    type: int
    default: 1
  placement:
    description: How the C(containerops.fleet.placement) filter spreads the total over the hosts; not used on a host.
    type: str
    choices: [spread, binpack]
    default: spread
  platform:
    description:
      - Where the service runs. V(docker) runs O(replicas) containers on each host.
      - V(swarm) creates or updates one Docker Swarm service through a swarm manager's engine (see the
        C(containerops.fleet.swarm) role); O(replicas) is the total. Swarm rolls updates out with O(update) as its
        update and rollback config; the deploy waits until Swarm reports the update completed and fails with
        Swarm's reason when Swarm paused or rolled it back.
      - V(kubernetes) server-side applies a Deployment and a Service (and a HorizontalPodAutoscaler with
        O(autoscale)) with the C(kubernetes) Python client and waits for the rollout, from the controller.
    type: str
    choices: [docker, swarm, kubernetes]
    default: docker
  publish_mode:
    description:
      - O(platform=swarm) only. V(host) publishes each task's port on the node it runs on (one task per node
        and port; updates then run stop-first). V(ingress) uses Swarm's routing mesh (needs IPVS in the kernel).
    type: str
    choices: [host, ingress]
    default: host
  endpoint_mode:
    description:
      - O(platform=swarm) only. V(vip) gives the service a virtual IP on its networks (needs IPVS);
        V(dnsrr) makes the service name resolve to every task's address.
    type: str
    choices: [vip, dnsrr]
    default: vip
  progress_deadline:
    description:
      - O(platform=swarm) or O(platform=kubernetes). Seconds the rollout may take before it fails;
        on Kubernetes also the Deployment's C(progressDeadlineSeconds).
    type: int
    default: 600
  command:
    description: Command to run instead of the image's; a list or a shell-split string.
    type: raw
  env:
    description: Environment variables. C(FLEET_REPLICA) is set to C(<name>-<replica>@<address>) in each replica.
    type: dict
    default: {}
  ports:
    description:
      - Container ports to publish. Each replica gets its own host port from O(ports[].host_range).
    type: list
    elements: dict
    default: []
    suboptions:
      container:
        description: Container port.
        type: int
        required: true
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      host_range:
        description: Host ports to pick from, like V(20000-20999).
        type: str
        default: 20000-29999
  volumes:
    description: Binds or named volumes, C(SOURCE:TARGET[:MODE]).
    type: list
    elements: str
    default: []
  labels:
    description: Extra container labels.
    type: dict
    default: {}
  healthcheck:
    description: How a replica proves it is healthy. Give O(healthcheck.http_path) or O(healthcheck.command).
    type: dict
    suboptions:
      http_path:
        description:
          - HTTP path of the health check on O(healthcheck.port). When that port is published (O(ports)), the module
            probes C(http://<bind address>:<host port><path>) from the host, the way the kubelet does - no shell or
            tool is needed in the image, whose own C(HEALTHCHECK) is switched off. Otherwise (or on swarm) it is
            probed inside the container with curl, wget or python3, in exec form (the URL is never shell text).
          - A 2xx or 3xx answer is healthy. Also what HAProxy checks, unless O(lb.health_path) says otherwise.
        type: str
      command:
        description: Command run inside the container; exit 0 means healthy. A string runs in a shell.
        type: raw
      port:
        description: Port for O(healthcheck.http_path); default the first O(ports[].container).
        type: int
      interval:
        description: Seconds between checks.
        type: float
        default: 2
      timeout:
        description: Seconds one check may take.
        type: float
        default: 2
      retries:
        description: Consecutive failures before unhealthy.
        type: int
        default: 3
      start_period:
        description: Seconds during which failures do not count.
        type: float
        default: 0
  resources:
    description: Limits per replica; also what placement reserves on a host.
    type: dict
    suboptions:
      cpus:
        description: CPUs, like V(0.5).
        type: float
      memory:
        description: Memory, like V(256m) or V(1g).
        type: str
  restart_policy:
    description: Docker restart policy.
    type: str
    choices: ["no", always, unless-stopped, on-failure]
    default: unless-stopped
  networks:
    description:
      - Networks the replicas join, every one of them, with the service name as an alias on each, so other
        containers on the same network find the replicas by that name (Docker's DNS answers with every replica).
      - On O(platform=docker), a network the host does not have is created when a replica is to run there
        (driver C(bridge), labelled C(io.containerops.fleet.managed)); an existing one is used as it is. A new
        or removed network rolls the replicas like any other change. Networks are never removed by the module.
      - On O(platform=swarm), the networks must exist on the swarm (overlay); on O(platform=kubernetes) leave it
        empty (pods find Services by DNS name).
      - The engine's own networks (V(bridge), V(host), V(none), V(default), V(ingress), V(docker_gwbridge)) are
        refused; across hosts, services reach each other through their HAProxy frontends.
    type: list
    elements: str
    default: []
  bind_address:
    description: Host address the replica ports are published on. Default the host's advertise address, so nothing
      listens on every interface unless asked (V(0.0.0.0)).
    type: str
  metrics_path:
    description:
      - Path Prometheus scrapes on each replica; reported in the endpoints. Null when the service exposes none.
      - Part of the spec hash, so a change reaches the replicas' labels and Prometheus' targets.
    type: str
  update:
    description: How changes roll out. Not part of the spec hash; changing it never replaces a running replica.
    type: dict
    suboptions:
      parallelism:
        description: Replicas replaced per batch.
        type: int
        default: 1
      order:
        description: V(start-first) starts the new replica before stopping the old one.
        type: str
        choices: [start-first, stop-first]
        default: start-first
      failure_action:
        description: On failure, V(rollback) restores the previous replicas; V(pause) leaves things as they are.
        type: str
        choices: [rollback, pause]
        default: rollback
      monitor:
        description: Seconds a new replica has to become healthy.
        type: float
        default: 60
      max_failure_ratio:
        description: Fraction of new replicas allowed to fail before the failure action is taken.
        type: float
        default: 0
  lb:
    description:
      - Load balancing, read by the C(containerops.fleet.haproxy) role from the definition.
      - With O(platform=kubernetes) the service gets a NodePort Service (C(externalTrafficPolicy=Local)) and its
        endpoints are the nodes that run its ready pods, at their InternalIP and the node port of the first port;
        HAProxy balances over them and Prometheus scrapes them. Needs O(ports).
    type: dict
    suboptions:
      port:
        description:
          - Frontend port HAProxy binds for the service. Services on the same port share one frontend and are routed
            by O(lb.hosts) and O(lb.paths); the one with O(lb.default) (else the one without hosts and paths) gets
            what no route matches, and without one HAProxy answers 404.
          - Optional with O(lb.tls) (the service is then only on the HTTPS frontend).
        type: int
      mode:
        description:
          - V(http) (the default) or V(tcp) for databases, Redis, MQTT and other non-HTTP services. A V(tcp) service
            has a port of its own, is health-checked by TCP connect and takes no hosts, paths or TLS settings.
        type: str
        choices: [http, tcp]
      hosts:
        description: C(Host) header names (no port, no wildcard) routed to the service on its port (and on HTTPS).
        type: list
        elements: str
      paths:
        description:
          - Path prefixes routed to the service; V(/api) matches V(/api) and V(/api/...), never V(/apiary). With
            O(lb.hosts), both must match. Longer prefixes are tried first.
        type: list
        elements: str
      default:
        description: The service gets the requests no route on its port (and on HTTPS, with O(lb.tls)) matches.
        type: bool
      tls:
        description:
          - Also serve the service on the load balancer's HTTPS frontend (the C(containerops.fleet.haproxy) role's
            C(haproxy_https_port) and C(haproxy_tls_certificates)), routed the same way.
        type: bool
      redirect_https:
        description: Answer plain HTTP requests with a redirect (301) to HTTPS. Needs O(lb.tls).
        type: bool
      hsts:
        description:
          - C(Strict-Transport-Security) max-age in seconds on HTTPS answers; 0 or unset for none. Needs O(lb.tls).
        type: int
      proxy_protocol:
        description: Send the PROXY protocol (v2) header to the replicas, so they see the client's address.
        type: bool
      node_port:
        description:
          - O(platform=kubernetes) only. The node port of the first port (30000-32767, the API server's default
            range). Default one allocated by the API server and kept by it across deploys.
        type: int
      balance:
        description: HAProxy balance algorithm; default V(roundrobin).
        type: str
        choices: [roundrobin, static-rr, leastconn, first, random, source, uri]
      weights:
        description:
          - Dict inventory host -> weight (0 to 256) for every replica on that host, or V(host/replica index) ->
            weight for one replica (C(node1) -> 1, C(node3/1) -> 3). Keys survive deploys, scales and
            the autoscaler (container names and list positions would not); replicas without a key weigh 1.
        type: raw
      maxconn:
        description:
          - Most concurrent connections per replica (HAProxy queues the rest); one number for every replica, or a
            dict keyed like O(lb.weights).
        type: raw
      health_path:
        description: HTTP path of HAProxy's checks; default O(healthcheck.http_path).
        type: str
      retries:
        description: Retries per request; default the haproxy role's C(haproxy_retries).
        type: int
  autoscale:
    description:
      - Autoscaling with the Kubernetes HorizontalPodAutoscaler's rules on every platform, between O(autoscale.min)
        and O(autoscale.max).
      - On O(platform=docker) and O(platform=swarm) the C(containerops.fleet.autoscaler) role's cron check decides
        from O(autoscale.query) and O(autoscale.target) (see C(containerops.fleet.autoscale) for the math).
      - On O(platform=kubernetes) it becomes a HorizontalPodAutoscaler on O(autoscale.cpu_utilization) and/or
        O(autoscale.memory_utilization) with the same tolerance-free bounds, stabilization and scale-up limit;
        the cron check skips the service and says so.
    type: dict
    suboptions:
      min:
        description: Fewest replicas.
        type: int
        default: 1
      max:
        description: Most replicas.
        type: int
        required: true
      query:
        description: Docker and swarm. PromQL giving the per-replica value O(autoscale.target) applies to.
        type: str
      target:
        description: Docker and swarm. Target value of O(autoscale.query) per replica.
        type: float
      cpu_utilization:
        description: Kubernetes. Target average CPU use in percent of the CPU request (O(resources.cpus)).
        type: int
      memory_utilization:
        description: Kubernetes. Target average memory use in percent of the memory request (O(resources.memory)).
        type: int
      tolerance:
        description: Docker and swarm. No change while the ratio to the target is within this.
        type: float
        default: 0.1
      scale_down_stabilization:
        description: Seconds of recommendations whose highest wins on the way down (the HPA's scale-down window).
        type: int
        default: 300
      scale_up_limit:
        description: Most replicas added in one check (on Kubernetes, per 15 seconds).
        type: int
      scale_up_stabilization:
        description:
          - Kubernetes. Seconds of recommendations whose lowest wins on the way up (the HPA's scale-up window,
            0-3600; 0 scales up at once).
        type: int
        default: 0
      scale_down_limit:
        description: Kubernetes. Most replicas removed per 15 seconds (default the HPA's own policy).
        type: int
"""
