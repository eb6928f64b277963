# Copyright (c) invtoolbox contributors. All rights reserved.
"""Registration of every invtoolbox module and of third-party plugins."""
import datetime
import importlib
import os
import warnings

from mmengine import DefaultScope

from ..errors import PluginImportError

#: Sub-packages whose import registers every built-in module (imported by
#: name, only when :func:`register_all_modules` is called).
_PACKAGES = (
    'invtoolbox.apis',
    'invtoolbox.datasets',
    'invtoolbox.datasets.transforms',
    'invtoolbox.engine',
    'invtoolbox.engine.hooks',
    'invtoolbox.evaluation',
    'invtoolbox.models',
    'invtoolbox.structures',
    'invtoolbox.tasks',
    'invtoolbox.visualization',
)

#: Entry-point group through which installed packages declare plugins.
PLUGIN_GROUP = 'invtoolbox.plugins'

#: Set this environment variable to 1 to import no plugin (e.g. to run the
#: tools while an installed plugin is broken).
NO_PLUGINS_ENV = 'INVTB_NO_PLUGINS'


def plugins_disabled() -> bool:
    """Whether ``INVTB_NO_PLUGINS=1`` (plugins are skipped)."""
    return os.environ.get(NO_PLUGINS_ENV, '').strip() == '1'


def _plugin_entry_points():
    from importlib.metadata import entry_points
    eps = entry_points()
    if hasattr(eps, 'select'):  # Python >= 3.10
        return list(eps.select(group=PLUGIN_GROUP))
    return list(eps.get(PLUGIN_GROUP, []))  # pragma: no cover (3.9)


def import_plugins() -> list:
    """Import every module declared in the ``invtoolbox.plugins`` entry-point group.

    A package declares, e.g. in its ``pyproject.toml``::

        [project.entry-points."invtoolbox.plugins"]
        my_tasks = "my_package.tasks"

    With ``INVTB_NO_PLUGINS=1`` in the environment nothing is imported.

    Returns:
        list[str]: the names of the imported entry points.

    Raises:
        PluginImportError: naming the plugin and showing its own error when
            one fails to import (and how to skip plugins).
    """
    loaded = []
    if plugins_disabled():
        return loaded
    for ep in _plugin_entry_points():
        try:
            ep.load()
        except Exception as err:  # a plugin's bug must name the plugin
            raise PluginImportError(
                f'invtoolbox plugin {ep.name!r} ({ep.value}) failed to import: '
                f'{type(err).__name__}: {err}. Fix or uninstall the package '
                f'that declares it, or set {NO_PLUGINS_ENV}=1 to run without '
                'plugins.') from err
        loaded.append(ep.name)
    return loaded


def register_all_modules(init_default_scope: bool = True,
                         load_plugins: bool = True) -> None:
    """Register every invtoolbox module into the registries.

    Imports every sub-package of :data:`_PACKAGES` by its dotted name with
    ``importlib.import_module``, inside this function: the one place in
    ``invtoolbox.utils`` that reaches the packages above it (``engine``,
    ``models``, ``apis``, ...), so that importing ``invtoolbox.utils`` loads
    none of them and ``utils`` stays a leaf without import cycles.

    Args:
        init_default_scope (bool): make ``invtoolbox`` the default scope of
            mmengine's registries (so ``type='IRN'`` resolves without a
            ``invtoolbox.`` prefix). If another scope is current, a new
            uniquely named ``invtoolbox`` scope instance is created.
        load_plugins (bool): also import the modules declared by installed
            packages in the ``invtoolbox.plugins`` entry-point group (none
            when the environment sets ``INVTB_NO_PLUGINS=1``).
    """
    for name in _PACKAGES:
        importlib.import_module(name)
    if load_plugins:
        import_plugins()
    if not init_default_scope:
        return
    never_created = (DefaultScope.get_current_instance() is None
                     or not DefaultScope.check_instance_created('invtoolbox'))
    if never_created:
        DefaultScope.get_instance('invtoolbox', scope_name='invtoolbox')
        return
    current_scope = DefaultScope.get_current_instance()
    if current_scope.scope_name != 'invtoolbox':
        warnings.warn('The current default scope '
                      f'"{current_scope.scope_name}" is not "invtoolbox", '
                      '`register_all_modules` will force the current '
                      'default scope to be "invtoolbox". If this is not '
                      'expected, please set `init_default_scope=False`.')
        new_instance_name = f'invtoolbox-{datetime.datetime.now()}'
        DefaultScope.get_instance(new_instance_name, scope_name='invtoolbox')
